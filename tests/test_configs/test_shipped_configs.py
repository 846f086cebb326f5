"""Every shipped config runs end to end at tiny resolution: its own dataset
and pipelines on generated data in the real formats, its data preprocessor,
one loss step, predict, and its evaluator."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmaction.registry import DATASETS, METRICS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from ssa2d_mm.datasets.flow import extract_flow_dataset
from ssa2d_mm.datasets.synthetic import (make_synthetic_a2d,
                                         make_synthetic_vidor)

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(osp.join(ROOT, 'configs', '*.py')))
TINY_SIZE = (32, 32)
TINY_CLIP_LEN = 8


@pytest.fixture(scope='module')
def data_roots(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('data')
    make_synthetic_a2d(
        str(tmp / 'a2d'), num_videos=4, seed=0, height=48, width=64,
        num_frames=12, test_fraction=0.5)
    a2d = str(tmp / 'a2d' / 'Release')
    extract_flow_dataset(a2d, osp.join(a2d, 'flow'))
    make_synthetic_vidor(str(tmp / 'vidor'), num_train=1, num_val=1)
    return dict(a2d=a2d, vidor=str(tmp / 'vidor'))


def test_every_config_is_covered():
    assert 'ssa2d_a2d_rgb.py' in CONFIGS and 'ssa2d_vidor.py' in CONFIGS
    assert len(CONFIGS) >= 8


def _shrink(dataset_cfg, data_root, flow_root):
    """Point a dataset config at the tiny data; tiny clips and frames."""
    dataset_cfg.data_root = data_root
    if 'clip_len' in dataset_cfg:
        dataset_cfg.clip_len = TINY_CLIP_LEN
    for step in dataset_cfg.pipeline:
        if step.type == 'SampleAnnotatedClip':
            step.clip_len = TINY_CLIP_LEN
        elif step.type == 'ClipSegResize':
            step.scale = TINY_SIZE
        elif step.type == 'LoadFlowClip':
            step.flow_root = flow_root
    return DATASETS.build(dataset_cfg)


def _batch(dataset, n=2):
    return pseudo_collate([dataset[i] for i in range(n)])


@pytest.mark.parametrize('name', CONFIGS)
def test_config_runs_a_step_end_to_end(name, data_roots):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    assert cfg.default_scope == 'mmaction'
    assert cfg.custom_imports.imports == ['ssa2d_mm']
    vidor = cfg.train_dataloader.dataset.type == 'VidORDataset'
    root = data_roots['vidor' if vidor else 'a2d']
    flow_root = osp.join(root, 'flow')

    for key in ('backbone', 'flow_backbone'):
        if cfg.model.get(key) is not None:
            cfg.model[key].pop('init_cfg', None)  # no pretrained files here
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)

    train_set = _shrink(cfg.train_dataloader.dataset, root, flow_root)
    data = model.data_preprocessor(_batch(train_set), True)
    model.train()
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert math.isfinite(total.item())
    total.backward()
    assert all(p.grad is not None for p in model.backbone.parameters()
               if p.requires_grad)

    test_set = _shrink(cfg.test_dataloader.dataset, root, flow_root)
    batch = _batch(test_set)
    model.eval()
    with torch.no_grad():
        samples = model.test_step(batch)
    for sample in samples:
        ori_shape = tuple(sample.metainfo['ori_shape'])
        assert tuple(sample.pred_actor_seg.shape[-2:]) == ori_shape
        # Test pipelines keep the labels at the original frame size.
        assert tuple(sample.gt_actor_seg.shape[-2:]) == ori_shape

    metric = METRICS.build(cfg.test_evaluator)
    metric.dataset_meta = test_set.metainfo
    metric.process(batch, [s.to_dict() for s in samples])
    results = metric.compute_metrics(metric.results)
    for key in ('actor_miou', 'action_miou', 'joint_miou'):
        assert 0.0 <= results[key] <= 1.0
