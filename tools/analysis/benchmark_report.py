"""Markdown tables from the JSON files of ``run_benchmarks.sh``.

Example::

    python tools/analysis/benchmark_report.py docs/benchmarks \
        > docs/benchmarks/tables.md

Reads ``ssa2d_infer_sweep.json``, ``ssa2d_train.json``,
``proposal_16actors.json`` and ``scaling.json`` (whichever exist) and prints
the tables that docs/benchmark.md shows, so a re-run on another machine
refreshes them in one step.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional


def _load(folder: str, name: str) -> Optional[dict]:
    path = osp.join(folder, name)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _env_line(report: dict) -> str:
    env = report['environment']
    load = env.get('load_average') or ['?']
    end = env.get('load_average_end') or ['?']

    def fmt(x):
        return f'{x:.2f}' if isinstance(x, float) else str(x)

    return (f"{env['time_utc']}, {env['cpu']['model']} "
            f"({env['cpu']['usable_cpus']} cores), torch "
            f"{env['versions']['torch']}, {env['torch_threads']} threads, "
            f'load average (1 min) {fmt(load[0])} at start, '
            f'{fmt(end[0])} at end')


def sweep_table(report: dict) -> List[str]:
    rows = [
        '| variant | median ms | p95 ms | clips/s | speed-up | RSS peak '
        'MiB | tensor peak MiB | GFLOP/s | % of limit | max rel. err | '
        'argmax agree |', '|---|---|---|---|---|---|---|---|---|---|---|'
    ]
    for r in report['results']:
        tp, mem, num = r['throughput'], r['memory'], r.get('numerics')
        frac = r.get('fraction_of_limit', {}).get('of_limit')
        rows.append(
            f"| {r['name']} | {tp['latency_median_s'] * 1e3:.0f} | "
            f"{tp['latency_p95_s'] * 1e3:.0f} | {tp['clips_per_s']:.2f} | "
            f"{r.get('speedup_vs_plain', float('nan')):.2f}x | "
            f"{mem['peak_mib']:.0f} | "
            f"{mem.get('tensor_peak_mib', float('nan')):.0f} | "
            f"{tp.get('achieved_gflops', float('nan')):.0f} | "
            + (f'{100 * frac:.0f}%' if frac is not None else '-') + ' | '
            + (f"{num['max_rel_err']:.1e} | "
               f"{100 * num['argmax_agreement']:.2f}% |"
               if num else '- | - |'))
    return rows


def limit_table(report: dict) -> List[str]:
    rows = [
        '| dtype / layout | dominant conv | conv GFLOP/s | matmul GFLOP/s |',
        '|---|---|---|---|'
    ]
    seen = set()
    for r in report['results']:
        lim = r.get('limit')
        if not lim:
            continue
        conv = lim['convs'][0]
        key = (lim['dtype'], conv['channels_last'])
        if key in seen:
            continue
        seen.add(key)
        spec = conv['spec']
        rows.append(
            f"| {lim['dtype']}, "
            f"{'channels-last' if conv['channels_last'] else 'contiguous'} "
            f"| {spec['name']}: {spec['kind']} "
            f"{tuple(spec['input_shape'])} -> {spec['out_channels']} ch, "
            f"k{tuple(spec['kernel_size'])} s{tuple(spec['stride'])} | "
            f"{conv['gflops']:.0f} | {lim['matmul']['gflops']:.0f} |")
    return rows


def case_table(reports: List[dict]) -> List[str]:
    rows = [
        '| case | params (M) | GFLOP / call | median s | clips/s | '
        'frames/s | RSS peak MiB | tensor peak MiB | GFLOP/s | % of limit |',
        '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for name, rep in reports:
        if rep is None:
            continue
        r = rep['results'][0]
        tp, mem = r['throughput'], r['memory']
        frac = r.get('fraction_of_limit', {}).get('of_limit')
        rows.append(
            f"| {name} | {r['params']['total'] / 1e6:.1f} | "
            f"{tp.get('gflops_per_iter', float('nan')):.0f} | "
            f"{tp['latency_median_s']:.2f} | {tp['clips_per_s']:.3f} | "
            f"{tp['frames_per_s']:.1f} | {mem['peak_mib']:.0f} | "
            f"{mem.get('tensor_peak_mib', float('nan')):.0f} | "
            f"{tp.get('achieved_gflops', float('nan')):.0f} | "
            + (f'{100 * frac:.0f}% |' if frac is not None else '- |'))
    return rows


def actors_table(report: dict) -> List[str]:
    rows = [
        '| actors | SSA2D s | proposal s | time ratio | SSA2D RSS MiB | '
        'proposal RSS MiB | RSS ratio | SSA2D tensors MiB | proposal '
        'tensors MiB | tensor ratio | SSA2D GFLOP | proposal GFLOP |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|'
    ]
    prop = {c['num_actors']: c for c in report['actors']['proposal']}
    for s in report['actors']['ssa2d']:
        n = s['num_actors']
        p = prop.get(n)
        ratio = report['ratios_proposal_over_ssa2d'].get(str(n), {})

        def f(c, key, fmt):
            return format(c[key], fmt) if c and c.get(key) is not None \
                else '-'

        rows.append(
            f"| {n} | {f(s, 'latency_median_s', '.2f')} | "
            f"{f(p, 'latency_median_s', '.2f')} | "
            f"{f(ratio, 'time', '.2f')}x | {f(s, 'peak_mib', '.0f')} | "
            f"{f(p, 'peak_mib', '.0f')} | {f(ratio, 'memory', '.2f')}x | "
            f"{f(s, 'tensor_peak_mib', '.0f')} | "
            f"{f(p, 'tensor_peak_mib', '.0f')} | "
            f"{f(ratio, 'tensor_memory', '.2f')}x | "
            f"{f(s, 'gflops', '.0f')} | {f(p, 'gflops', '.0f')} |")
    return rows


def shapes_table(report: dict) -> List[str]:
    rows = [
        '| clip (T x H x W) | GFLOP | median s | frames/s | RSS peak MiB | '
        'tensor peak MiB |', '|---|---|---|---|---|---|'
    ]
    for c in report['ssa2d_shapes']:
        t, h, w = c['shape']
        rows.append(
            f"| {t} x {h} x {w} | {c['gflops']:.0f} | "
            f"{c['latency_median_s']:.2f} | {t / c['latency_median_s']:.1f} "
            f"| {c['peak_mib']:.0f} | "
            f"{(c.get('tensor_peak_mib') or float('nan')):.0f} |")
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('folder', help='folder of the JSON results')
    args = p.parse_args(argv)
    out: List[str] = []
    sweep = _load(args.folder, 'ssa2d_infer_sweep.json')
    if sweep:
        shape = 'x'.join(map(str, sweep['results'][0]['case']['shape']))
        out += [f'### SSA2D inference, {shape}, speed work', '',
                f'Ran {_env_line(sweep)}.', ''] + sweep_table(sweep)
        out += ['', '### Machine limit (attainable, best of runs)', ''] + \
            limit_table(sweep)
    short = _load(args.folder, 'ssa2d_infer_8frames.json')
    if short:
        out += ['', '### SSA2D inference, 8x224x224: default vs plain', '',
                f'Ran {_env_line(short)}.', ''] + sweep_table(short)
    cases = [('SSA2D inference, default settings', None),
             ('SSA2D training step, fp32',
              _load(args.folder, 'ssa2d_train.json')),
             ('proposal pipeline, 16 actors, fp32',
              _load(args.folder, 'proposal_16actors.json'))]
    if sweep:
        default = [r for r in sweep['results']
                   if r['name'].startswith('default (')]
        if default:
            cases[0] = (cases[0][0], dict(results=default))
    if any(rep for _, rep in cases):
        out += ['', '### Cases', ''] + case_table(cases)
    scaling = _load(args.folder, 'scaling.json')
    if scaling:
        shape = 'x'.join(map(str, scaling['actor_shape']))
        out += ['', f'### Cost vs number of actors ({shape} clip, '
                'test_step)', '', f'Ran {_env_line(scaling)}.', ''] + \
            actors_table(scaling)
        out += ['', '### SSA2D vs clip length and resolution', ''] + \
            shapes_table(scaling)
    if not out:
        print(f'tools/analysis/benchmark_report.py: no results in '
              f'{args.folder}', file=sys.stderr)
        return 1
    print('\n'.join(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
