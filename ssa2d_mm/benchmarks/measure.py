"""Benchmark cases: a model, a batch, a device and inference settings.

:func:`benchmark_model` measures one case: parameters, FLOPs, warm-up,
timed runs each under a peak-memory meter, the numerics of the chosen
optimisations against fp32 eager, and the machine's limit for the model's
dominant operation.

:func:`benchmark_interleaved` measures several cases in round-robin order
(A, B, C, A, B, C, ...). On a machine shared with other work, load drifts
over minutes; interleaving spreads that drift evenly over the cases, so
their ratios (speed-ups, proposal / SSA2D) stay meaningful even when the
absolute times are not.
"""
import copy
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from .device_limit import ConvSpec, find_conv_specs, measure_device_limit
from .flops import count_flops, count_flops_dispatch, count_params
from .memory import PeakMemoryMeter, tensor_peak_bytes
from .optimize import (InferenceSettings, compare_outputs, inference_context,
                       optimize_for_inference, to_channels_last)
from .timing import TimingResult, synchronize

MODES = ('infer', 'train')
APIS = ('tensor', 'predict')

#: fp32 eager under ``torch.no_grad``: the reference of every speed-up.
PLAIN = InferenceSettings(
    fuse_bn=False,
    onednn_conv3d=False,
    channels_last=False,
    amp=None,
    compile=False,
    inference_mode=False)


@dataclass
class PreparedCase:
    """A case ready to time: :func:`prepare_case`'s output.

    Args:
        run (Callable[[], object]): one call of the measured work.
        result (dict): what is known before timing (case, params, FLOPs,
            numerics, compile time, ...).
        device (torch.device): where it runs.
        specs (list[ConvSpec]): the model's convolutions, largest first.
        dtype (torch.dtype): the compute dtype (autocast's, or fp32).
        channels_last (bool): channels-last layout.
        batch (int): clips per call.
        frames (int): frames per clip.
        flop_scale (float): FLOPs of one call / counted forward FLOPs
            (3 for a training step).
    """
    run: Callable[[], object]
    result: dict
    device: torch.device
    specs: List[ConvSpec]
    dtype: torch.dtype
    channels_last: bool
    batch: int
    frames: int
    flop_scale: float = 1.0
    times: List[float] = field(default_factory=list)
    meters: List[dict] = field(default_factory=list)


def _clip_shape(data: dict) -> Tuple[int, tuple]:
    inputs = data['inputs']
    first = inputs[0]
    if isinstance(first, dict):
        first = first['imgs']
    return len(inputs), tuple(first.shape[-3:])


def _move(x, device: torch.device):
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, dict):
        return {k: _move(v, device) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_move(v, device) for v in x)
    return x


def _count(model: nn.Module, x, run: Callable, api: str,
           how: Optional[str]) -> Optional[dict]:
    if how is None:
        return None
    if how == 'auto':
        if api != 'tensor':
            return count_flops_dispatch(run)
        try:
            return count_flops(model, (x, ))
        except Exception as e:  # jit tracing can fail on Python logic
            out = count_flops_dispatch(run)
            out['mmengine_error'] = f'{type(e).__name__}: {e}'[:300]
            return out
    if how == 'mmengine':
        return count_flops(model, (x, ))
    if how == 'dispatch':
        return count_flops_dispatch(run)
    raise ValueError('ssa2d_mm/benchmarks/measure.py: flops must be auto, '
                     f'mmengine, dispatch or None, got {how!r}')


def prepare_case(model: nn.Module,
                 data: dict,
                 device: Union[str, torch.device] = 'cpu',
                 mode: str = 'infer',
                 api: str = 'tensor',
                 settings: Optional[InferenceSettings] = None,
                 flops: Optional[str] = 'auto',
                 find_convs: bool = True,
                 numerics: bool = True,
                 rtol: Optional[float] = None) -> PreparedCase:
    """Build the measured call of a case, and everything known before
    timing it. Arguments as in :func:`benchmark_model`.

    Returns:
        PreparedCase: the case; its first call has run (``first_call_s``:
        one-off costs such as ``torch.compile``).
    """
    if mode not in MODES or api not in APIS:
        raise ValueError('ssa2d_mm/benchmarks/measure.py: mode must be one '
                         f'of {MODES} and api one of {APIS}, got {mode!r}, '
                         f'{api!r}')
    device = torch.device(device)
    settings = settings or PLAIN
    batch, (t, h, w) = _clip_shape(data)
    model.to(device)
    result: Dict[str, object] = dict(
        case=dict(
            model=type(model).__name__,
            batch=batch,
            shape=[t, h, w],
            mode=mode,
            api=api if mode == 'infer' else 'train_step',
            device=str(device),
            settings=settings.to_dict()),
        params=count_params(model))
    amp = settings.amp_dtype

    # ---- reference pass: fp32 eager, conv shapes, FLOPs -----------------
    model.eval()
    with torch.no_grad():
        x = model.data_preprocessor(copy.deepcopy(data), False)['inputs']

    def run_plain():
        if api == 'tensor' or mode == 'train':
            return model(x, mode='tensor')
        return model.test_step(copy.deepcopy(data))

    specs = find_conv_specs(model, run_plain) if find_convs else []
    result['flops'] = _count(model, x, run_plain,
                             'tensor' if mode == 'train' else api, flops)

    if mode == 'train':
        run = _train_call(model, data, device, settings, result)
        flop_scale = 3.0
    else:
        run = _infer_call(model, data, x, device, api, settings, numerics,
                          rtol, result)
        flop_scale = 1.0
    start = time.perf_counter()
    out = run()
    synchronize(device)
    result['first_call_s'] = time.perf_counter() - start
    if '_reference' in result:
        reference = result.pop('_reference')
        tol = rtol if rtol is not None else (5e-2 if amp else 1e-3)
        result['numerics'] = compare_outputs(
            reference, _move(out, torch.device('cpu')), rtol=tol)
    del out
    return PreparedCase(
        run=run,
        result=result,
        device=device,
        specs=specs,
        dtype=amp or torch.float32,
        channels_last=settings.channels_last,
        batch=batch,
        frames=t,
        flop_scale=flop_scale)


def _infer_call(model: nn.Module, data: dict, x, device: torch.device,
                api: str, settings: InferenceSettings, numerics: bool,
                rtol: Optional[float], result: dict) -> Callable:
    if numerics and api == 'tensor' and settings != PLAIN:
        with torch.no_grad():
            result['_reference'] = _move(
                model(x, mode='tensor'), torch.device('cpu'))
    start = time.perf_counter()
    model = optimize_for_inference(model, settings)
    result['optimize_s'] = time.perf_counter() - start
    result['fused_conv_bn'] = model._fused_conv_bn
    result['onednn_conv3d'] = model._onednn_conv3d
    if settings.channels_last:
        x = to_channels_last(x)

    def run():
        with inference_context(settings, device):
            if api == 'tensor':
                return model(x, mode='tensor')
            return model.test_step(data)

    return run


def _train_call(model: nn.Module, data: dict, device: torch.device,
                settings: InferenceSettings, result: dict) -> Callable:
    model.train()
    if settings.channels_last:
        with torch.no_grad():
            for param in model.parameters():
                param.data = to_channels_last(param.data)
    if result.get('flops'):
        result['flops_note'] = ('forward FLOPs; a training step counts 3x '
                                '(backward ~ 2x forward)')
    # The paper's optimiser: Adam (amsgrad), lr 1e-3.
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    amp = settings.amp_dtype
    if amp is not None and device.type == 'cuda':
        wrapper = AmpOptimWrapper(optimizer=optimizer, dtype=amp)
    else:
        wrapper = OptimWrapper(optimizer=optimizer)

    def run():
        batch = copy.deepcopy(data)
        if amp is not None and device.type != 'cuda':
            with torch.autocast(device.type, dtype=amp):
                return model.train_step(batch, wrapper)
        return model.train_step(batch, wrapper)

    return run


def timed_call(case: PreparedCase) -> None:
    """One timed call of ``case`` under its own peak-memory meter."""
    with PeakMemoryMeter(case.device) as meter:
        synchronize(case.device)
        start = time.perf_counter()
        out = case.run()
        synchronize(case.device)
        case.times.append(time.perf_counter() - start)
        del out
    case.meters.append(meter.to_dict())


def finish_case(case: PreparedCase,
                limit: bool = True,
                limit_iters: int = 5,
                matmul_size: int = 2048,
                limit_cache: Optional[dict] = None) -> dict:
    """Summarise a timed case: timing, throughput, memory, limit.

    Args:
        case (PreparedCase): a case with at least one timed call.
        limit (bool): measure the machine's limit (see
            :func:`measure_device_limit`). Defaults to True.
        limit_iters (int): timed runs per limit op.
        matmul_size (int): side of the limit's square matmul.
        limit_cache (dict, optional): limits already measured, keyed by
            (dominant conv, dtype, layout), shared between cases.

    Returns:
        dict: the case's result.
    """
    r = case.result
    timing = TimingResult(times=list(case.times), warmup=0)
    r['timing'] = timing.to_dict()
    peak = max(case.meters, key=lambda m: m['peak_bytes'])
    r['memory'] = dict(
        peak,
        note='largest growth of the process (CPU: RSS) during one timed '
        'call, over the timed calls')
    med = timing.median
    tp = dict(
        clips_per_s=case.batch / med,
        frames_per_s=case.batch * case.frames / med,
        latency_median_s=med,
        latency_p95_s=timing.p95)
    if r.get('flops'):
        tp['gflops_per_iter'] = case.flop_scale * r['flops']['flops'] / 1e9
        tp['achieved_gflops'] = tp['gflops_per_iter'] / med
    r['throughput'] = tp
    if limit:
        total = sum(s.macs for s in case.specs) or 1
        r['dominant_convs'] = [
            dict(s.to_dict(), share_of_conv_macs=s.macs / total)
            for s in case.specs[:3]
        ]
        cache = limit_cache if limit_cache is not None else {}
        lim = r['limit'] = _measure_limit(case, matmul_size, limit_iters,
                                          cache, only_missing=True)
        if 'achieved_gflops' in tp:
            r['fraction_of_limit'] = dict(
                of_limit=tp['achieved_gflops'] / lim['limit_gflops'],
                of_dominant_conv=tp['achieved_gflops'] / lim['conv_gflops'],
                of_matmul=tp['achieved_gflops'] / lim['matmul']['gflops'])
    return r


def _limit_key(case: PreparedCase, matmul_size: int) -> tuple:
    top = case.specs[:1]
    return (repr(top[0].to_dict()) if top else None, str(case.dtype),
            case.channels_last, matmul_size)


def _measure_limit(case: PreparedCase,
                   matmul_size: int,
                   iters: int,
                   cache: dict,
                   only_missing: bool = False) -> dict:
    """Measure (or re-measure) the limit of ``case``'s dominant op; the
    cache keeps the best throughput seen for each op over all calls."""
    key = _limit_key(case, matmul_size)
    if only_missing and key in cache:
        return cache[key]
    lim = measure_device_limit(
        case.specs[:1] or None,
        dtype=case.dtype,
        device=case.device,
        channels_last=case.channels_last,
        matmul_size=matmul_size,
        warmup=0 if key in cache else 1,
        iters=iters)
    best = cache.get(key)
    if best is not None:
        # Attainable = best seen: keep the faster measurement of each op.
        lim['convs'] = [
            max(a, b, key=lambda c: c['gflops'])
            for a, b in zip(best['convs'], lim['convs'])
        ]
        lim['matmul'] = max(
            best['matmul'], lim['matmul'], key=lambda c: c['gflops'])
        lim['conv_gflops'] = max(c['gflops'] for c in lim['convs'])
        lim['limit_gflops'] = max(lim['conv_gflops'],
                                  lim['matmul']['gflops'])
        lim['rounds'] = best.get('rounds', 1) + 1
    else:
        lim['rounds'] = 1
    cache[key] = lim
    return lim


def benchmark_model(model: nn.Module,
                    data: dict,
                    device: Union[str, torch.device] = 'cpu',
                    mode: str = 'infer',
                    api: str = 'tensor',
                    settings: Optional[InferenceSettings] = None,
                    warmup: int = 2,
                    iters: int = 5,
                    flops: Optional[str] = 'auto',
                    limit: bool = True,
                    limit_iters: int = 5,
                    matmul_size: int = 2048,
                    numerics: bool = True,
                    rtol: Optional[float] = None,
                    tensor_memory: bool = True) -> Dict[str, object]:
    """Measure one model on one batch.

    Args:
        model (nn.Module): an mmengine ``BaseModel`` (SSA2D, the proposal
            pipeline, ...); modified in place (eval/train mode, fusion).
        data (dict): a data-loader batch, ``dict(inputs=[...],
            data_samples=[...])`` (see :func:`make_clip_batch`).
        device (str | torch.device): 'cpu' or 'cuda'.
        mode (str): ``'infer'`` or ``'train'`` (``train_step``: forward,
            losses, backward, Adam (amsgrad) step, the paper's optimiser).
        api (str): at inference, ``'tensor'`` (the network on a
            preprocessed batch, ``model(x, mode='tensor')``) or
            ``'predict'`` (``model.test_step``: preprocessing, network and
            post-processing to label volumes at the original size).
        settings (InferenceSettings, optional): optimisations at inference;
            None is :data:`PLAIN` (fp32 eager, ``torch.no_grad``). In
            training only ``amp`` and ``channels_last`` apply.
        warmup (int): untimed runs after the first call. Defaults to 2.
        iters (int): timed runs. Defaults to 5.
        flops (str, optional): ``'mmengine'`` (jit ``FlopAnalyzer``),
            ``'dispatch'`` (torch ``FlopCounterMode``), ``'auto'``
            (mmengine for ``api='tensor'``, falling back to dispatch; dispatch
            for ``predict``) or None (skip). Defaults to 'auto'.
        limit (bool): also measure the machine's limit for the model's
            dominant convolution and a matmul. Defaults to True.
        limit_iters (int): timed runs per limit op in every round of timed
            calls; the best over all rounds counts. Defaults to 5.
        matmul_size (int): side of the limit's square matmul.
        numerics (bool): compare the optimised outputs with fp32 eager
            (``api='tensor'``, inference, non-plain settings only).
        rtol (float, optional): tolerance of that check, relative to the
            outputs' scale; defaults to 1e-3 in fp32, 5e-2 with autocast.
        tensor_memory (bool): also the peak of live tensor bytes, from one
            more profiled call (CPU). Defaults to True.

    Returns:
        dict: ``case`` (shapes, mode, api, settings), ``params``, ``flops``,
        ``timing`` (seconds), ``throughput`` (clips/s, frames/s,
        achieved GFLOP/s), ``memory``, ``numerics``, ``limit`` and
        ``fraction_of_limit``.
    """
    return benchmark_interleaved(
        [model],
        data,
        device=device,
        mode=mode,
        api=api,
        settings=[settings],
        warmup=warmup,
        iters=iters,
        flops=flops,
        limit=limit,
        limit_iters=limit_iters,
        matmul_size=matmul_size,
        numerics=numerics,
        rtol=rtol,
        tensor_memory=tensor_memory)[0]


def benchmark_interleaved(
        models: Sequence[nn.Module],
        data: Union[dict, Sequence[dict]],
        device: Union[str, torch.device] = 'cpu',
        mode: str = 'infer',
        api: str = 'tensor',
        settings: Optional[Sequence[Optional[InferenceSettings]]] = None,
        warmup: int = 2,
        iters: int = 5,
        flops: Optional[str] = 'auto',
        limit: bool = True,
        limit_iters: int = 5,
        matmul_size: int = 2048,
        numerics: bool = True,
        rtol: Optional[float] = None,
        tensor_memory: bool = True,
        log: Optional[Callable[[str], None]] = None
) -> List[Dict[str, object]]:
    """Measure several cases in round-robin order.

    Args:
        models (Sequence[nn.Module]): one model per case (modified in place;
            pass copies to compare settings on the same weights).
        data (dict | Sequence[dict]): one batch for all, or one per case.
        settings (Sequence[InferenceSettings | None], optional): per case;
            None entries (or None) mean :data:`PLAIN`.
        tensor_memory (bool): after the timed rounds, one more (untimed)
            call per case under torch's profiler gives the peak of live
            tensor bytes (CPU only; see :func:`tensor_peak_bytes`).
        log (Callable[[str], None], optional): progress messages.
        Other arguments: as in :func:`benchmark_model`, for every case.

    Returns:
        list[dict]: one result per case, in order.
    """
    if iters < 1 or warmup < 0:
        raise ValueError('ssa2d_mm/benchmarks/measure.py: need iters >= 1 '
                         f'and warmup >= 0, got {iters}, {warmup}')
    datas = [data] * len(models) if isinstance(data, dict) else list(data)
    settings = list(settings) if settings is not None else [None] * len(
        models)
    if not len(datas) == len(settings) == len(models):
        raise ValueError('ssa2d_mm/benchmarks/measure.py: models, data and '
                         'settings differ in length')
    log = log or (lambda msg: None)
    cases = []
    for i, (m, d, s) in enumerate(zip(models, datas, settings)):
        cases.append(
            prepare_case(
                m,
                d,
                device=device,
                mode=mode,
                api=api,
                settings=s,
                flops=flops,
                find_convs=limit,
                numerics=numerics,
                rtol=rtol))
        log(f'case {i + 1}/{len(models)} prepared (first call '
            f"{cases[-1].result['first_call_s']:.1f} s)")
    for case in cases:
        for _ in range(warmup):
            case.run()
        synchronize(case.device)
    # The limit ops run in every round too (best run counts): measured only
    # before or after, a spell of load would bias the fraction of limit.
    cache: dict = {}
    for it in range(iters):
        for case in cases:
            timed_call(case)
        if limit:
            for case in cases:
                if _limit_key(case, matmul_size) not in [
                        _limit_key(c, matmul_size)
                        for c in cases[:cases.index(case)]
                ]:
                    _measure_limit(case, matmul_size, limit_iters, cache)
        log(f'round {it + 1}/{iters}: ' + ', '.join(
            f'{c.times[-1]:.3f} s' for c in cases))
    results = []
    for case in cases:
        r = finish_case(case, limit, limit_iters, matmul_size, cache)
        if tensor_memory and case.device.type == 'cpu':
            tensors = tensor_peak_bytes(case.run)
            r['memory'].update(
                tensor_peak_bytes=tensors['peak_bytes'],
                tensor_peak_mib=tensors['peak_mib'],
                tensor_method=tensors['method'])
        r['timing']['warmup'] = warmup
        r['timing']['interleaved_with'] = len(cases) - 1
        results.append(r)
    return results
