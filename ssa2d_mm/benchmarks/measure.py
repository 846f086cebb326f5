"""One benchmark case: a model, a batch, a device and inference settings.

:func:`benchmark_model` is what ``tools/analysis/benchmark.py`` and
``tools/analysis/scaling.py`` run for every case: parameters, FLOPs,
warm-up, timed runs under a peak-memory meter, the numerics of the chosen
optimisations against fp32 eager, and the machine's limit for the model's
dominant operation.
"""
import copy
import time
from typing import Callable, Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from .device_limit import find_conv_specs, measure_device_limit
from .flops import count_flops, count_flops_dispatch, count_params
from .memory import PeakMemoryMeter
from .optimize import (InferenceSettings, compare_outputs, inference_context,
                       optimize_for_inference, to_channels_last)
from .timing import time_callable

MODES = ('infer', 'train')
APIS = ('tensor', 'predict')

#: fp32 eager under ``torch.no_grad``: the reference of every speed-up.
PLAIN = InferenceSettings(
    fuse_bn=False,
    channels_last=False,
    amp=None,
    compile=False,
    inference_mode=False)


def _clip_shape(data: dict) -> tuple:
    inputs = data['inputs']
    first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs[0]
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
                    rtol: Optional[float] = None) -> Dict[str, object]:
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
        warmup (int): untimed runs first. Defaults to 2.
        iters (int): timed runs. Defaults to 5.
        flops (str, optional): ``'mmengine'`` (jit ``FlopAnalyzer``),
            ``'dispatch'`` (torch ``FlopCounterMode``), ``'auto'``
            (mmengine for ``api='tensor'``, falling back to dispatch; dispatch
            for ``predict``) or None (skip). Defaults to 'auto'.
        limit (bool): also measure the machine's limit for the model's
            dominant convolution and a matmul. Defaults to True.
        limit_iters (int): timed runs per limit op. Defaults to 5.
        matmul_size (int): side of the limit's square matmul.
        numerics (bool): compare the optimised outputs with fp32 eager
            (``api='tensor'``, inference, non-plain settings only).
        rtol (float, optional): tolerance of that check, relative to the
            outputs' scale; defaults to 1e-3 in fp32, 5e-2 with autocast.

    Returns:
        dict: ``case`` (shapes, mode, api, settings), ``params``, ``flops``,
        ``timing`` (seconds), ``throughput`` (clips/s, frames/s,
        achieved GFLOP/s), ``memory``, ``numerics``, ``limit`` and
        ``fraction_of_limit``.
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
    amp_dtype = settings.amp_dtype

    if mode == 'train':
        return _benchmark_train(model, data, device, settings, warmup, iters,
                                flops, limit, limit_iters, matmul_size,
                                result)

    # ---- reference pass: fp32 eager, conv shapes, FLOPs -----------------
    model.eval()
    with torch.no_grad():
        pre = model.data_preprocessor(data, False)
    x = pre['inputs']

    def run_plain():
        if api == 'tensor':
            return model(x, mode='tensor')
        return model.test_step(copy.deepcopy(data))

    specs = find_conv_specs(model, run_plain) if limit else []
    reference = None
    if numerics and api == 'tensor' and settings != PLAIN:
        with torch.no_grad():
            reference = _move(model(x, mode='tensor'), torch.device('cpu'))
    result['flops'] = _count(model, x, run_plain, api, flops)

    # ---- optimise, check numerics ----------------------------------------
    start = time.perf_counter()
    model = optimize_for_inference(model, settings)
    result['optimize_s'] = time.perf_counter() - start
    result['fused_conv_bn'] = getattr(model, '_fused_conv_bn', None) or \
        getattr(getattr(model, '_orig_mod', None), '_fused_conv_bn', 0)
    if settings.channels_last:
        x = to_channels_last(x)

    def run():
        with inference_context(settings, device):
            if api == 'tensor':
                return model(x, mode='tensor')
            return model.test_step(data)

    start = time.perf_counter()
    out = run()
    result['first_call_s'] = time.perf_counter() - start
    if reference is not None:
        tol = rtol if rtol is not None else (5e-2 if amp_dtype else 1e-3)
        result['numerics'] = compare_outputs(
            reference, _move(out, torch.device('cpu')), rtol=tol)
    del out

    # ---- timed runs -------------------------------------------------------
    _timed(run, device, warmup, iters, result)
    _throughput(result, batch, t, result['flops'])
    if limit:
        _limit(result, specs, amp_dtype, device, settings.channels_last,
               matmul_size, limit_iters)
    return result


def _count(model: nn.Module, x, run: Callable, api: str,
           how: Optional[str]) -> Optional[dict]:
    if how is None:
        return None
    if how == 'auto':
        how = 'mmengine' if api == 'tensor' else 'dispatch'
        if how == 'mmengine':
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


def _timed(run: Callable, device: torch.device, warmup: int, iters: int,
           result: dict) -> None:
    if warmup:
        time_callable(run, warmup=0, iters=warmup, device=device)
    # The meter brackets the timed runs only: the warm-up's one-off
    # allocations (compilation, oneDNN primitive caches) stay out.
    with PeakMemoryMeter(device) as meter:
        timing = time_callable(run, warmup=0, iters=iters, device=device)
    result['timing'] = dict(timing.to_dict(), warmup=warmup)
    result['memory'] = meter.to_dict()


def _throughput(result: dict, batch: int, t: int,
                flops: Optional[dict], scale: float = 1.0) -> None:
    med = result['timing']['median']
    out = dict(
        clips_per_s=batch / med,
        frames_per_s=batch * t / med,
        latency_median_s=med,
        latency_p95_s=result['timing']['p95'])
    if flops:
        out['gflops_per_iter'] = scale * flops['flops'] / 1e9
        out['achieved_gflops'] = scale * flops['flops'] / med / 1e9
    result['throughput'] = out


def _limit(result: dict, specs: List, amp_dtype: Optional[torch.dtype],
           device: torch.device, channels_last: bool, matmul_size: int,
           iters: int) -> None:
    dtype = amp_dtype or torch.float32
    total_conv = sum(s.macs for s in specs) or 1
    result['dominant_convs'] = [
        dict(s.to_dict(), share_of_conv_macs=s.macs / total_conv)
        for s in specs[:3]
    ]
    lim = measure_device_limit(
        specs[:1] or None,
        dtype=dtype,
        device=device,
        channels_last=channels_last,
        matmul_size=matmul_size,
        iters=iters)
    result['limit'] = lim
    achieved = result['throughput'].get('achieved_gflops')
    if achieved is not None:
        result['fraction_of_limit'] = dict(
            of_limit=achieved / lim['limit_gflops'],
            of_dominant_conv=achieved / lim['conv_gflops'],
            of_matmul=achieved / lim['matmul']['gflops'])


def _benchmark_train(model: nn.Module, data: dict, device: torch.device,
                     settings: InferenceSettings, warmup: int, iters: int,
                     flops: Optional[str], limit: bool, limit_iters: int,
                     matmul_size: int, result: dict) -> dict:
    from mmengine.optim import AmpOptimWrapper

    batch, (t, _, _) = _clip_shape(data)
    model.train()
    if settings.channels_last:
        model.to(memory_format=torch.channels_last_3d)
    # FLOPs of one forward (eval mode: same arithmetic), x3 for training.
    model.eval()
    with torch.no_grad():
        x = model.data_preprocessor(copy.deepcopy(data), False)['inputs']
    specs = find_conv_specs(model, lambda: model(x, mode='tensor')) \
        if limit else []
    fwd = _count(model, x, lambda: model(x, mode='tensor'), 'tensor', flops)
    model.train()
    result['flops'] = fwd
    if fwd:
        result['flops_note'] = ('forward FLOPs; training throughput counts '
                                '3x (forward + backward ~ 2x forward)')
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    amp = settings.amp_dtype
    if amp is not None and device.type == 'cuda':
        wrapper = AmpOptimWrapper(optimizer=optimizer, dtype=amp)
    else:
        wrapper = OptimWrapper(optimizer=optimizer)

    def run():
        if amp is not None and device.type != 'cuda':
            with torch.autocast(device.type, dtype=amp):
                return model.train_step(copy.deepcopy(data), wrapper)
        return model.train_step(copy.deepcopy(data), wrapper)

    _timed(run, device, warmup, iters, result)
    _throughput(result, batch, t, fwd, scale=3.0)
    if limit:
        _limit(result, specs, amp, device, settings.channels_last,
               matmul_size, limit_iters)
    return result
