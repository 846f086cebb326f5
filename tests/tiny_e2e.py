"""A tiny end-to-end setup for the tests of the tools, the APIs and the demo.

The real registered components at toy size: SSA2D on InceptionI3D up to
Mixed_3c (1.7 M parameters) with narrow heads, A2D's loading and geometric
transforms, ``ActorActionMetric``, the project's ``default_runtime.py``; the
data is a synthetic A2D release (4 videos of 12 frames, 32 x 48) written
with ``make_synthetic_a2d``. Importable from any test module: pytest puts
``tests/`` (the rootdir conftest's folder) on ``sys.path``.
"""
import os.path as osp
import socket
import subprocess
import sys
from typing import Optional

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PYTHON = sys.executable
CLIP_LEN = 8

TINY_SSA2D = dict(
    type='SSA2D',
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        format_shape='NCTHW'),
    backbone=dict(
        type='InceptionI3D',
        in_channels=3,
        final_endpoint='Mixed_3c',
        out_endpoints=('Conv3d_2c_3x3', 'Mixed_3c')),
    neck=dict(
        type='SSA2DDecoder',
        in_channels=(192, 480),
        upsample_strides=((1, 2, 2), ),
        channels=(16, ),
        context_cfg=dict(channels=16)),
    actor_head=dict(
        type='ActorHead',
        channels=8,
        num_classes=8,
        dilations=((1, 1, 1), (1, 2, 2)),
        loss_ce=dict(type='mmseg.CrossEntropyLoss', avg_non_ignore=True),
        loss_dice=dict(type='VolumetricDiceLoss'),
        loss_fg=dict(type='mmseg.CrossEntropyLoss', avg_non_ignore=True)),
    fusion=dict(type='ObjectPriorFusion'),
    action_head=dict(
        type='ActionHead',
        channels=8,
        num_classes=10,
        dilations=((1, 1, 1), (1, 2, 2)),
        loss_decode=[
            dict(type='mmseg.CrossEntropyLoss', avg_non_ignore=True),
            dict(type='VolumetricDiceLoss')
        ]),
    test_cfg=dict(fg_threshold=0.5))


def make_tiny_a2d(root: str) -> str:
    """Write the synthetic release under ``root``; return its ``Release``.

    2 train videos (3 annotated frames), 2 test videos (6 annotated frames).
    """
    from ssa2d_mm.datasets.synthetic import make_synthetic_a2d
    gt = make_synthetic_a2d(
        root,
        num_videos=4,
        seed=0,
        height=32,
        width=48,
        num_frames=12,
        test_fraction=0.5)
    return gt['release_dir']


def tiny_config(release_dir: str,
                max_epochs: int = 3,
                validate: bool = False,
                **options) -> Config:
    """The project's runtime with the tiny model and data.

    Args:
        release_dir (str): A synthetic A2D ``Release`` folder.
        max_epochs (int): Training epochs (3 iterations each, batch 1).
        validate (bool): Validate after every epoch. Defaults to False.
        **options: Merged last (``Config.merge_from_dict`` keys).
    """
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'default_runtime.py'))
    load = [
        dict(type='VideoInit'),
        dict(type='SampleAnnotatedClip', clip_len=CLIP_LEN),
        dict(type='VideoDecode'),
        dict(type='LoadA2DAnnotation'),
    ]
    train_pipeline = load + [
        dict(type='ClipSegFlip', flip_ratio=0.5),
        dict(type='PackActorActionInputs')
    ]
    # The resize keeps inference honest: predictions must come back at the
    # video's 32 x 48.
    test_pipeline = load + [
        dict(type='ClipSegResize', scale=(64, 32), keep_ratio=False),
        dict(type='PackActorActionInputs')
    ]

    def loader(split: str, pipeline: list, shuffle: bool) -> dict:
        return dict(
            batch_size=1,
            num_workers=0,
            persistent_workers=False,
            sampler=dict(type='DefaultSampler', shuffle=shuffle),
            dataset=dict(
                type='A2DDataset',
                data_root=release_dir,
                ann_file='videoset.csv',
                split=split,
                test_mode=split == 'test',
                pipeline=pipeline))

    cfg.merge_from_dict(
        dict(
            model=TINY_SSA2D,
            test_pipeline=test_pipeline,
            train_dataloader=loader('train', train_pipeline, True),
            test_dataloader=loader('test', test_pipeline, False),
            test_evaluator=dict(type='ActorActionMetric'),
            test_cfg=dict(type='TestLoop'),
            train_cfg=dict(
                type='EpochBasedTrainLoop',
                max_epochs=max_epochs,
                val_interval=1),
            optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
            randomness=dict(seed=0),
            log_processor=dict(window_size=1),
            default_hooks=dict(
                logger=dict(interval=1),
                checkpoint=dict(
                    type='AtomicCheckpointHook',
                    interval=1,
                    max_keep_ckpts=2,
                    save_best=None))))
    if validate:
        cfg.merge_from_dict(
            dict(
                val_dataloader=cfg.test_dataloader,
                val_evaluator=cfg.test_evaluator,
                val_cfg=dict(type='ValLoop')))
    cfg.merge_from_dict(options)
    return cfg


def write_config(cfg: Config, path: str) -> str:
    """Dump ``cfg`` to the ``.py`` file ``path`` and return the path."""
    cfg.dump(path)
    return path


def free_port() -> int:
    """A TCP port free at the time of the call, for torchrun's master."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env(extra: Optional[dict] = None) -> dict:
    """Environment of a tool subprocess: one thread per process (the test
    machine's cores are shared) and the repository importable."""
    import os
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONPATH=REPO + os.pathsep + env.get('PYTHONPATH', ''))
    env.update(extra or {})
    return env


def run_tool(args: list,
             timeout: float = 120,
             env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """Run ``python <args>`` in the repository; raise with the output on
    failure."""
    proc = subprocess.run(
        [PYTHON] + args,
        cwd=REPO,
        env=tool_env(env),
        capture_output=True,
        text=True,
        timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(args)} exited with {proc.returncode}:\n'
            f'{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    return proc


def save_checkpoint_of(model,
                       path: str,
                       constant: Optional[tuple] = None,
                       dataset_meta: Optional[dict] = None) -> str:
    """Save ``model`` as an mmengine checkpoint at ``path``.

    Args:
        model: An SSA2D model (untrained is fine).
        path (str): Where to write.
        constant (tuple, optional): ``(actor, action)``: zero the weights of
            the three classifiers and set their biases so that every pixel is
            foreground with that actor and action, for tests that need a
            known prediction.
        dataset_meta (dict, optional): Stored as ``meta['dataset_meta']``.
    """
    import torch
    from mmengine.runner import save_checkpoint
    state = {k: v.clone() for k, v in model.state_dict().items()}
    if constant is not None:
        for name, cls in (('actor_head.conv_seg', constant[0]),
                          ('actor_head.conv_fg', 1), ('action_head.conv_seg',
                                                      constant[1])):
            state[f'{name}.weight'].zero_()
            bias = torch.full_like(state[f'{name}.bias'], -10.)
            bias[cls] = 10.
            state[f'{name}.bias'] = bias
    meta = dict(epoch=1, iter=1)
    if dataset_meta is not None:
        meta['dataset_meta'] = dataset_meta
    save_checkpoint(dict(state_dict=state, meta=meta), path)
    return path
