"""Benchmark a model built from a config: speed, memory, FLOPs, machine limit.

Examples::

    # SSA2D, the inference default (fused BN, channels-last, inference_mode)
    python tools/analysis/benchmark.py configs/ssa2d_a2d_rgb.py \
        --shape 16 224 224 --out work_dirs/bench/ssa2d.json
    # plain fp32 eager, and the speed-work sweep of every optimisation
    python tools/analysis/benchmark.py CONFIG --preset plain
    python tools/analysis/benchmark.py CONFIG --sweep
    # training step (forward, losses, backward, Adam)
    python tools/analysis/benchmark.py CONFIG --mode train --batch 2
    # the proposal-based baseline (needs mmdet + full mmcv)
    python tools/analysis/benchmark.py \
        configs/benchmarks/proposal_maskrcnn_slowonly.py \
        --api predict --cfg-options model.num_actors=64

The JSON holds the environment (versions, CPU, threads, load, seed) and one
entry per measured case (see ``ssa2d_mm.benchmarks.benchmark_model``).
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
import sys
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import ssa2d_mm  # noqa: F401  (compat layer + registration)
from ssa2d_mm.benchmarks import (PLAIN, BaselineUnavailableError,
                                 InferenceSettings, benchmark_interleaved,
                                 collect_environment, make_clip_batch,
                                 set_seed)

#: The speed-work variants of ``--sweep``: (name, settings). Each "+ X"
#: adds one optimisation to plain fp32 eager under ``inference_mode``
#: (except the first, which is that switch alone).
_NONE = dict(fuse_bn=False, onednn_conv3d=False, channels_last=False)
SWEEP: List[Tuple[str, InferenceSettings]] = [
    ('plain fp32 eager (no_grad)', PLAIN),
    ('+ inference_mode', InferenceSettings(**_NONE)),
    ('+ oneDNN for every Conv3d', InferenceSettings(
        **dict(_NONE, onednn_conv3d=True))),
    ('+ channels_last_3d', InferenceSettings(
        **dict(_NONE, channels_last=True))),
    ('+ fuse BN', InferenceSettings(**dict(_NONE, fuse_bn=True))),
    ('+ bf16 autocast', InferenceSettings(**_NONE, amp='bf16')),
    ('+ torch.compile', InferenceSettings(**_NONE, compile=True)),
    ('default (InferenceSettings())', InferenceSettings()),
    ('default without channels_last', InferenceSettings(
        channels_last=False)),
    ('default + bf16 autocast', InferenceSettings(amp='bf16')),
    ('default + torch.compile', InferenceSettings(compile=True)),
]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Benchmark a model: clips/s, latency, peak memory, '
        'FLOPs, and the fraction of the machine limit it reaches')
    p.add_argument('config', help='model config file')
    p.add_argument(
        '--shape', type=int, nargs=3, default=[16, 224, 224],
        metavar=('T', 'H', 'W'), help='clip shape (default 16 224 224)')
    p.add_argument('--batch', type=int, default=1, help='clips per batch')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--mode', default='infer', choices=['infer', 'train'])
    p.add_argument(
        '--api', default='tensor', choices=['tensor', 'predict'],
        help="infer: time model(x, mode='tensor') on a preprocessed batch, "
        'or test_step (preprocess + predict to label volumes)')
    p.add_argument(
        '--preset', default='default', choices=['default', 'plain'],
        help='inference settings: the chosen default (optimize_for_'
        'inference) or plain fp32 eager; the flags below override it')
    p.add_argument('--amp', action=argparse.BooleanOptionalAction,
                   help='bf16 autocast')
    p.add_argument('--channels-last', action=argparse.BooleanOptionalAction,
                   help='channels-last (3D) weights and inputs')
    p.add_argument('--compile', action=argparse.BooleanOptionalAction,
                   help='torch.compile the model')
    p.add_argument('--fuse-bn', action=argparse.BooleanOptionalAction,
                   help='fold BatchNorm into convolutions')
    p.add_argument('--inference-mode',
                   action=argparse.BooleanOptionalAction,
                   help='torch.inference_mode instead of no_grad')
    p.add_argument('--onednn-conv3d',
                   action=argparse.BooleanOptionalAction,
                   help='route every fp32 CPU Conv3d to oneDNN')
    p.add_argument('--compare-plain', action='store_true',
                   help='also measure plain fp32 eager and report speed-up')
    p.add_argument('--sweep', action='store_true',
                   help='measure every speed-work variant (SWEEP)')
    p.add_argument('--sweep-skip', nargs='*', default=[],
                   help='skip sweep variants whose name contains a word')
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--iters', type=int, default=5)
    p.add_argument('--limit-iters', type=int, default=5)
    p.add_argument('--matmul-size', type=int, default=2048)
    p.add_argument('--no-limit', action='store_true',
                   help='skip the machine-limit measurement')
    p.add_argument('--flops', default='auto',
                   choices=['auto', 'mmengine', 'dispatch', 'none'])
    p.add_argument('--threads', type=int, default=None,
                   help='torch intra-op threads (default: torch default)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, key=value')
    p.add_argument('--out', default=None, help='results JSON path')
    return p.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> InferenceSettings:
    """The preset, with the explicitly given flags applied."""
    base = PLAIN if args.preset == 'plain' else InferenceSettings()
    fields = base.to_dict()
    for name in ('channels_last', 'compile', 'fuse_bn', 'inference_mode',
                 'onednn_conv3d'):
        if getattr(args, name) is not None:
            fields[name] = getattr(args, name)
    if args.amp is not None:
        fields['amp'] = 'bf16' if args.amp else None
    return InferenceSettings(**fields)


def build_model(config: str, cfg_options: Optional[dict] = None):
    """Build ``cfg.model`` from a config file in its default scope."""
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'tools/analysis/benchmark.py: config {config} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'tools/analysis/benchmark.py: {config} has no model')
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    import ssa2d_mm.benchmarks  # noqa: F401  (registers the baseline)
    from mmaction.registry import MODELS
    return MODELS.build(cfg.model)


def summary_line(name: str, r: dict) -> str:
    tp, mem = r['throughput'], r['memory']
    frac = r.get('fraction_of_limit', {}).get('of_limit')
    num = r.get('numerics')
    return (f"{name:<52} {tp['latency_median_s'] * 1e3:9.1f} ms "
            f"(p95 {tp['latency_p95_s'] * 1e3:8.1f})  "
            f"{tp['clips_per_s']:7.3f} clips/s  "
            f"{mem['peak_mib']:8.1f} MiB RSS "
            f"{mem.get('tensor_peak_mib', float('nan')):8.1f} MiB tensors  "
            f"{tp.get('achieved_gflops', float('nan')):7.1f} GFLOP/s"
            + (f'  {100 * frac:5.1f}% of limit' if frac is not None else '')
            + (f"  rel.err {num['max_rel_err']:.1e}" if num else ''))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    command = ' '.join(
        ['python', 'tools/analysis/benchmark.py'] +
        (list(argv) if argv is not None else sys.argv[1:]))
    if args.threads:
        torch.set_num_threads(args.threads)
    set_seed(args.seed)
    environment = collect_environment(args.device, args.seed)
    try:
        model = build_model(args.config, args.cfg_options)
    except BaselineUnavailableError as e:
        print(f'ERROR: {e}', file=sys.stderr)
        return 2
    data = make_clip_batch(
        args.batch, args.shape, with_labels=args.mode == 'train',
        seed=args.seed)
    common = dict(
        device=args.device,
        mode=args.mode,
        api=args.api,
        warmup=args.warmup,
        iters=args.iters,
        flops=None if args.flops == 'none' else args.flops,
        limit=not args.no_limit,
        limit_iters=args.limit_iters,
        matmul_size=args.matmul_size)
    if args.sweep:
        cases = [(n, s) for n, s in SWEEP
                 if not any(w in n for w in args.sweep_skip)]
    else:
        cases = [('selected', settings_from_args(args))]
        if args.compare_plain and cases[0][1] != PLAIN:
            cases.insert(0, ('plain fp32 eager (no_grad)', PLAIN))
    # Several cases run interleaved (round-robin), each on its own copy of
    # the same weights: load drifts on a shared machine hit all alike.
    models = [copy.deepcopy(model) for _ in cases] if len(cases) > 1 \
        else [model]
    set_seed(args.seed)
    results = benchmark_interleaved(
        models,
        data,
        settings=[s for _, s in cases],
        log=lambda msg: print(msg, flush=True),
        **common)
    for (name, _), r in zip(cases, results):
        r['name'] = name
        print(summary_line(name, r), flush=True)
    del models
    gc.collect()
    plain = next((r for r in results if r['case']['settings'] ==
                  PLAIN.to_dict()), None)
    if plain is not None:
        base = plain['throughput']['latency_median_s']
        for r in results:
            r['speedup_vs_plain'] = base / r['throughput'][
                'latency_median_s']
        print('speed-up vs plain fp32 eager: ' + ', '.join(
            f"{r['name']}: {r['speedup_vs_plain']:.2f}x" for r in results))
    if hasattr(os, 'getloadavg'):
        environment['load_average_end'] = list(os.getloadavg())
    report = dict(
        command=command,
        config=args.config,
        cfg_options=args.cfg_options,
        environment=environment,
        results=results)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1, default=str)
        print(f'results written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
