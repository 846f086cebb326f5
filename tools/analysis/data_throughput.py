"""Measure how fast a config's training dataloader delivers clips.

Builds ``train_dataloader`` as training does (mmengine's
``Runner.build_dataloader``, after the config's ``custom_imports``, default
scope and ``env_cfg.mp_cfg`` multi-processing settings), skips a few warm-up
batches (worker start-up, file caches), then times ``--batches`` batches.
Use it to size ``num_workers`` and to see whether decoding, flow loading or
augmentation bounds training speed.

Example::

    python tools/analysis/data_throughput.py configs/ssa2d/xxx.py \
        --workers 4 --batches 50
"""
import argparse
import copy
import json
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.utils import import_modules_from_strings
from mmengine.utils.dl_utils import set_multi_processing


def _batch_counts(batch: dict) -> tuple:
    """``(clips, frames)`` in one collated batch."""
    inputs = batch['inputs']
    if isinstance(inputs, dict):  # RGB + flow: count the RGB clips
        inputs = inputs.get('imgs', next(iter(inputs.values())))
    if isinstance(inputs, torch.Tensor):
        inputs = list(inputs)
    clips = len(inputs)
    # (C, T, H, W) per clip; 2-D inputs (C, H, W) count one frame
    frames = sum(int(x.shape[1]) if x.dim() == 4 else 1 for x in inputs)
    return clips, frames


def measure_throughput(cfg: Config,
                       num_workers: Optional[int] = None,
                       num_batches: int = 20,
                       warmup: int = 2,
                       batch_size: Optional[int] = None) -> Dict:
    """Time the training dataloader of a config.

    Args:
        cfg (Config): The config (with ``train_dataloader``).
        num_workers (int, optional): Override of the dataloader's
            ``num_workers``. Defaults to the config's.
        num_batches (int): Timed batches. Defaults to 20.
        warmup (int): Untimed batches first. Defaults to 2.
        batch_size (int, optional): Override of ``batch_size``.

    Returns:
        dict: ``num_workers``, ``batch_size``, ``batches``, ``clips``,
        ``frames``, ``seconds`` (timed part), ``clips_per_s``,
        ``frames_per_s``, ``warmup_seconds`` (includes worker start-up).
    """
    if num_batches < 1 or warmup < 0:
        raise ValueError('need num_batches >= 1 and warmup >= 0')
    if 'custom_imports' in cfg:
        import_modules_from_strings(**cfg['custom_imports'])
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    # As the Runner does before building loaders: fork start method and
    # OpenCV threads off by default (a worker forked while OpenCV's thread
    # pool runs can deadlock).
    set_multi_processing(
        **cfg.get('env_cfg', {}).get('mp_cfg', {}), distributed=False)
    loader_cfg = copy.deepcopy(cfg['train_dataloader'])
    if num_workers is not None:
        loader_cfg['num_workers'] = num_workers
    if batch_size is not None:
        loader_cfg['batch_size'] = batch_size
    if loader_cfg.get('num_workers', 0) == 0:
        # torch refuses persistent workers without workers
        loader_cfg['persistent_workers'] = False
    seed = cfg.get('randomness', {}).get('seed')
    loader = Runner.build_dataloader(loader_cfg, seed=seed)

    def batches():
        while True:  # cycle through epochs if the dataset is small
            yield from loader

    stream = batches()
    start = time.perf_counter()
    for _ in range(warmup):
        next(stream)
    warmup_seconds = time.perf_counter() - start
    clips = frames = 0
    start = time.perf_counter()
    for _ in range(num_batches):
        c, f = _batch_counts(next(stream))
        clips += c
        frames += f
    seconds = time.perf_counter() - start
    return dict(
        num_workers=int(loader_cfg.get('num_workers', 0)),
        batch_size=int(loader_cfg['batch_size']),
        batches=num_batches,
        clips=clips,
        frames=frames,
        seconds=seconds,
        clips_per_s=clips / seconds,
        frames_per_s=frames / seconds,
        warmup_seconds=warmup_seconds)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Measure the clips/s of a config\'s train_dataloader.')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--workers', type=int, default=None, help='override num_workers')
    parser.add_argument(
        '--batches', type=int, default=20, help='timed batches')
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed batches first')
    parser.add_argument(
        '--batch-size', type=int, default=None, help='override batch_size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Run the command line; ``argv`` defaults to ``sys.argv[1:]``."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = measure_throughput(
        cfg,
        num_workers=args.workers,
        num_batches=args.batches,
        warmup=args.warmup,
        batch_size=args.batch_size)
    print(f"{result['clips_per_s']:.2f} clips/s, "
          f"{result['frames_per_s']:.1f} frames/s "
          f"({result['clips']} clips in {result['seconds']:.2f} s, "
          f"{result['num_workers']} workers, batch {result['batch_size']})")
    print(json.dumps(result))


if __name__ == '__main__':
    main()
