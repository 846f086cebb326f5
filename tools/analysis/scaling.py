"""Scaling study: SSA2D against the proposal-based pipeline, in one run.

1. Both pipelines on the same clip with 1, 4, 16, 64 actors (proposals /
   detections per frame for the baseline; SSA2D does not depend on it, and
   is measured at every count anyway, so flatness is observed, not assumed).
2. SSA2D over clip length (8, 16, 32 frames) and resolution (224, 320).

Every case times ``test_step`` (preprocessing, network, post-processing to
label volumes at the clip's size) under the same inference settings, and
measures the peak memory of the timed runs. Writes ``scaling.json`` and
``scaling_actors.png`` / ``scaling_ssa2d.png`` into ``--out-dir``.

Example::

    python tools/analysis/scaling.py --ssa2d-config configs/ssa2d_a2d_rgb.py \
        --out-dir docs/benchmarks

The baseline needs mmdet and full mmcv; without them the tool says so,
still measures SSA2D, and exits with status 3 (unless ``--ssa2d-only``).
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import ssa2d_mm  # noqa: F401  (compat layer + registration)
from ssa2d_mm.benchmarks import (PLAIN, BaselineUnavailableError,
                                 InferenceSettings, benchmark_interleaved,
                                 collect_environment, make_clip_batch,
                                 require_full_mmcv, set_seed)

BASELINE_CONFIG = 'configs/benchmarks/proposal_maskrcnn_slowonly.py'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='SSA2D vs the proposal-based pipeline: time and peak '
        'memory over actor count, clip length and resolution')
    p.add_argument('--ssa2d-config', default='configs/ssa2d_a2d_rgb.py')
    p.add_argument('--baseline-config', default=BASELINE_CONFIG)
    p.add_argument('--out-dir', default='docs/benchmarks')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--actors', type=int, nargs='+', default=[1, 4, 16, 64])
    p.add_argument('--actor-shape', type=int, nargs=3,
                   default=[16, 224, 224], metavar=('T', 'H', 'W'),
                   help='clip of the actor-count study')
    p.add_argument('--lengths', type=int, nargs='+', default=[8, 16, 32])
    p.add_argument('--sizes', type=int, nargs='+', default=[224, 320])
    p.add_argument(
        '--settings', default='plain', choices=['plain', 'default'],
        help='inference settings of every case: plain fp32 eager '
        '(default: the same untuned execution for both pipelines) or '
        'optimize_for_inference defaults')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--iters', type=int, default=3)
    p.add_argument(
        '--iters-large', type=int, default=2,
        help='timed runs of cases costlier than the 16x224x224 clip')
    p.add_argument('--ssa2d-only', action='store_true',
                   help='skip the baseline (no full mmcv needed)')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='overrides of the SSA2D config')
    p.add_argument('--baseline-cfg-options', nargs='+', action=DictAction,
                   help='overrides of the baseline config')
    p.add_argument('--no-plots', action='store_true')
    return p.parse_args(argv)


def _build(config: str, options: Optional[dict], seed: int,
           **model_overrides):
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'tools/analysis/scaling.py: config {config} does not exist')
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    cfg.model.update(model_overrides)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    from mmaction.registry import MODELS
    set_seed(seed)  # same weights for every case of a model
    return MODELS.build(cfg.model)


def _cases(models, shape, settings, args, iters: int) -> List[dict]:
    """Time ``models`` on the same clip, interleaved; one summary each."""
    data = make_clip_batch(1, shape, seed=args.seed)
    results = benchmark_interleaved(
        models,
        data,
        device=args.device,
        api='predict',
        settings=[settings] * len(models),
        warmup=args.warmup,
        iters=iters,
        flops='dispatch',  # one counter for both pipelines
        limit=False)
    return [
        dict(
            shape=list(shape),
            latency_median_s=r['throughput']['latency_median_s'],
            latency_p95_s=r['throughput']['latency_p95_s'],
            clips_per_s=r['throughput']['clips_per_s'],
            peak_mib=r['memory']['peak_mib'],
            memory_method=r['memory']['method'],
            tensor_peak_mib=r['memory'].get('tensor_peak_mib'),
            gflops=r['flops']['flops'] / 1e9 if r.get('flops') else None,
            params=r['params']['total'],
            weights_mib=r['params']['weights_bytes'] / 2**20,
            times_s=r['timing']['times']) for r in results
    ]


def _iters(shape, ref, args) -> int:
    cost = shape[0] * shape[1] * shape[2]
    return args.iters if cost <= ref[0] * ref[1] * ref[2] else \
        args.iters_large


def _print(tag: str, c: dict) -> None:
    print(f"{tag:<36} {c['latency_median_s'] * 1e3:10.1f} ms  "
          f"{c['peak_mib']:9.1f} MiB RSS  "
          f"{(c['tensor_peak_mib'] or float('nan')):9.1f} MiB tensors  "
          f"{(c['gflops'] or float('nan')):8.1f} GFLOP", flush=True)


def plot(report: dict, out_dir: str) -> List[str]:
    """Draw the two figures; returns their paths."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    paths = []
    actors = report['actors']
    ratios_ = report['ratios_proposal_over_ssa2d']
    fig, axes = plt.subplots(1, 3 if ratios_ else 2,
                             figsize=(15 if ratios_ else 10, 4))
    for key, label in (('ssa2d', 'SSA2D (one dense pass)'),
                       ('proposal', 'Mask R-CNN + AVA RoI head')):
        cases = actors.get(key) or []
        if not cases:
            continue
        n = [c['num_actors'] for c in cases]
        axes[0].plot(n, [c['latency_median_s'] for c in cases], 'o-',
                     label=label)
        line = axes[1].plot(n, [c['peak_mib'] for c in cases], 'o-',
                            label=f'{label}, RSS')[0]
        if all(c.get('tensor_peak_mib') for c in cases):
            axes[1].plot(n, [c['tensor_peak_mib'] for c in cases], 's--',
                         color=line.get_color(),
                         label=f'{label}, live tensors')
    shape = 'x'.join(str(s) for s in report['actor_shape'])
    if ratios_:
        # Interleaved calls: the ratio survives load drift better than the
        # absolute times do.
        n = sorted(int(k) for k in ratios_)
        for key, label, style in (('time', 'time', 'o-'),
                                  ('memory', 'RSS peak', 's-'),
                                  ('tensor_memory', 'live-tensor peak', 's--'),
                                  ('gflops', 'FLOPs', '^:')):
            vals = [ratios_[str(k)].get(key) for k in n]
            if all(v is not None for v in vals):
                axes[2].plot(n, vals, style, label=label)
        axes[2].axhline(1.0, color='grey', lw=.8)
    for ax, ylabel in zip(axes, ('latency per clip, median (s)',
                                 'peak memory during a call (MiB)',
                                 'proposal pipeline / SSA2D')):
        ax.set_xscale('log', base=2)
        ax.set_xlabel('actors per frame (proposals / detections)')
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=.3)
        ax.legend()
    fig.suptitle(f'Cost vs number of actors, {shape} clip, '
                 f"{report['environment']['device']}")
    fig.tight_layout()
    paths.append(osp.join(out_dir, 'scaling_actors.png'))
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    cases = report['ssa2d_shapes']
    if cases:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for size in sorted({c['shape'][1] for c in cases}):
            sub = [c for c in cases if c['shape'][1] == size]
            t = [c['shape'][0] for c in sub]
            axes[0].plot(t, [c['latency_median_s'] for c in sub], 'o-',
                         label=f'{size}x{size}')
            line = axes[1].plot(t, [c['peak_mib'] for c in sub], 'o-',
                                label=f'{size}x{size}, RSS')[0]
            if all(c.get('tensor_peak_mib') for c in sub):
                axes[1].plot(t, [c['tensor_peak_mib'] for c in sub], 's--',
                             color=line.get_color(),
                             label=f'{size}x{size}, live tensors')
        for ax, ylabel in zip(axes, ('latency per clip, median (s)',
                                     'peak memory during a call (MiB)')):
            ax.set_xlabel('clip length (frames)')
            ax.set_ylabel(ylabel)
            ax.set_xticks(sorted({c['shape'][0] for c in cases}))
            ax.grid(True, alpha=.3)
            ax.legend(title='resolution')
        fig.suptitle('SSA2D vs clip length and resolution')
        fig.tight_layout()
        paths.append(osp.join(out_dir, 'scaling_ssa2d.png'))
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


def ratios(actors: Dict[str, list]) -> Dict[str, dict]:
    """proposal / SSA2D time, memory (RSS peak of the runs, with the
    weights added, and live-tensor peak) and FLOPs at every actor count."""
    ssa2d = {c['num_actors']: c for c in actors.get('ssa2d') or []}
    out = {}
    for c in actors.get('proposal') or []:
        s = ssa2d.get(c['num_actors'])
        if s:
            out[str(c['num_actors'])] = dict(
                time=c['latency_median_s'] / s['latency_median_s'],
                memory=c['peak_mib'] / max(s['peak_mib'], 1e-9),
                memory_with_weights=(c['peak_mib'] + c['weights_mib']) /
                (s['peak_mib'] + s['weights_mib']),
                tensor_memory=(c['tensor_peak_mib'] / s['tensor_peak_mib'])
                if c.get('tensor_peak_mib') and s.get('tensor_peak_mib')
                else None,
                gflops=(c['gflops'] / s['gflops'])
                if c['gflops'] and s['gflops'] else None)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    environment = collect_environment(args.device, args.seed)
    settings = PLAIN if args.settings == 'plain' else InferenceSettings()
    baseline_error = None
    if not args.ssa2d_only:
        try:
            require_full_mmcv()
        except BaselineUnavailableError as e:
            baseline_error = str(e)
            print(f'ERROR: {e}\nMeasuring SSA2D only.', file=sys.stderr,
                  flush=True)
    shape = tuple(args.actor_shape)
    actors: Dict[str, list] = dict(ssa2d=[], proposal=[])
    ssa2d = _build(args.ssa2d_config, args.cfg_options, args.seed)
    with_baseline = not args.ssa2d_only and baseline_error is None
    iters = _iters(shape, shape, args)
    for n in args.actors:
        # SSA2D and the baseline with n actors alternate call by call, so a
        # change of the machine's load hits both alike.
        models = [copy.deepcopy(ssa2d)]
        if with_baseline:
            models.append(
                _build(
                    args.baseline_config,
                    args.baseline_cfg_options,
                    args.seed,
                    num_actors=n))
        for key, c in zip(('ssa2d', 'proposal'),
                          _cases(models, shape, settings, args, iters)):
            c['num_actors'] = n
            actors[key].append(c)
            _print(f'{key}, {n} actors', c)
        del models
        gc.collect()
    shapes = []
    for size in args.sizes:
        for t in args.lengths:
            s = (t, size, size)
            c = _cases([copy.deepcopy(ssa2d)], s, settings, args,
                       _iters(s, shape, args))[0]
            shapes.append(c)
            _print(f'SSA2D {t}x{size}x{size}', c)
            gc.collect()
    if hasattr(os, 'getloadavg'):
        environment['load_average_end'] = list(os.getloadavg())
    report = dict(
        command=' '.join(['python', 'tools/analysis/scaling.py'] +
                         (list(argv) if argv is not None else sys.argv[1:])),
        ssa2d_config=args.ssa2d_config,
        baseline_config=None if args.ssa2d_only else args.baseline_config,
        baseline_unavailable=baseline_error,
        settings=settings.to_dict(),
        api='test_step (preprocess + network + label volumes)',
        environment=environment,
        actor_shape=list(shape),
        actors=actors,
        ratios_proposal_over_ssa2d=ratios(actors),
        ssa2d_shapes=shapes)
    os.makedirs(args.out_dir, exist_ok=True)
    path = osp.join(args.out_dir, 'scaling.json')
    with open(path, 'w') as f:
        json.dump(report, f, indent=1, default=str)
    print(f'results written to {path}')
    for n, r in report['ratios_proposal_over_ssa2d'].items():
        print(f"proposal / SSA2D at {n} actors: time {r['time']:.2f}x, "
              f"memory {r['memory']:.2f}x")
    if not args.no_plots:
        for p in plot(report, args.out_dir):
            print(f'plot written to {p}')
    return 3 if baseline_error else 0


if __name__ == '__main__':
    sys.exit(main())
