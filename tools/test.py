# Copyright (c) OpenMMLab. All rights reserved.
# Modelled on mmaction2 1.2.0's and mmseg 1.2.2's tools/test.py; CPU-only
# distributed runs added (see setup_cpu_distributed).
"""Test (and evaluate) an SSA2D checkpoint with mmengine's Runner.

Single process::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out-dir DIR]
        [--show-dir DIR] [--dump results.pkl]

Distributed::

    bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [optional arguments]

The config's ``custom_imports`` registers the plugin's modules; this script
takes from it only the CPU-distributed setup.
"""
import argparse
import os
import os.path as osp

from mmaction.registry import RUNNERS
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from ssa2d_mm.engine.cpu_distributed import setup_cpu_distributed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (and eval) an actor-action segmentation model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out-dir',
        help='write every prediction in A2D\'s official form (colour-coded '
        'PNGs at full resolution, <video_id>/<frame_id>.png) to this '
        'directory (sets `output_dir` of the ActorActionMetric)')
    parser.add_argument(
        '--dump',
        type=str,
        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--show-dir',
        help='directory where the painted clips will be saved (enables the '
        'visualization hook)')
    parser.add_argument(
        '--show',
        action='store_true',
        help='whether to display the prediction results in a window.')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize per interval samples.')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='display time of every window. (second)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank since PyTorch 2.0.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg: Config,
                               args: argparse.Namespace) -> Config:
    """Turn on the visualization hook, as mmseg's test.py does."""
    default_hooks = cfg.get('default_hooks', {})
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            f'{args.config}: --show/--show-dir need a visualization hook in '
            "`default_hooks`, e.g. visualization=dict("
            "type='ActorActionVisualizationHook')")
    hook = default_hooks['visualization']
    hook['draw'] = True
    hook['interval'] = args.interval
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        hook['out_dir'] = args.show_dir
    return cfg


def set_output_dir(cfg: Config, args: argparse.Namespace) -> Config:
    """Point every ``ActorActionMetric`` of the test evaluator at
    ``--out-dir``."""
    evaluator = cfg.test_evaluator
    metrics = evaluator if isinstance(
        evaluator, (list, tuple)) else [evaluator.get('metrics', evaluator)]
    metrics = [
        m for ms in metrics
        for m in (ms if isinstance(ms, (list, tuple)) else [ms])
    ]
    found = False
    for metric in metrics:
        if metric.get('type', '').split('.')[-1] == 'ActorActionMetric':
            metric['output_dir'] = args.out_dir
            found = True
    if not found:
        raise ValueError(
            f'{args.config}: --out-dir needs an ActorActionMetric in '
            f'`test_evaluator`, got {evaluator}')
    return cfg


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command-line arguments into the config."""
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    if args.out_dir is not None:
        cfg = set_output_dir(cfg, args)

    if args.dump is not None:
        assert args.dump.endswith(('.pkl', '.pickle')), \
            'The dump file must be a pkl file.'
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = [*cfg.test_evaluator, dump_metric]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, dump_metric]
    return cfg


def main() -> None:
    args = parse_args()

    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    setup_cpu_distributed(cfg)

    # build the runner from config
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        # a customised runner, from the registry, if `runner_type` is set
        runner = RUNNERS.build(cfg)

    runner.test()


if __name__ == '__main__':
    main()
