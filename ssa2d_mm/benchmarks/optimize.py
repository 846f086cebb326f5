"""Inference-time optimisations and their numerics check.

:func:`optimize_for_inference` applies the chosen defaults (measured in
docs/benchmark.md) to a model in place; :func:`inference_context` is the
matching autograd/autocast context; :func:`compare_outputs` checks an
optimised model against fp32 eager.
"""
import contextlib
import types
from dataclasses import asdict, dataclass
from typing import Any, ContextManager, Dict, Iterator, List, Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval

_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16, None: None}


@dataclass
class InferenceSettings:
    """What :func:`optimize_for_inference` and :func:`inference_context` do.

    The defaults are the combination measured to help on CPU (see
    docs/benchmark.md, "Speed work"); each field can be switched off.

    Args:
        fuse_bn (bool): fold eval-mode BatchNorm into the preceding
            convolution of every ``ConvModule``. Defaults to True.
        onednn_conv3d (bool): run every fp32 CPU ``Conv3d`` through oneDNN
            (:func:`route_conv3d_to_onednn`). Defaults to True.
        channels_last (bool): channels-last (3D) weights, so oneDNN runs its
            blocked NDHWC kernels without layout reorders. Defaults to True.
        amp (str, optional): autocast dtype, ``'bf16'`` or ``'fp16'``;
            None keeps fp32. Defaults to None (bf16 changes the outputs
            beyond fp32 tolerance: opt in).
        compile (bool): wrap the model in ``torch.compile``. Defaults to
            False (long first call, see docs).
        inference_mode (bool): ``torch.inference_mode`` rather than
            ``torch.no_grad``. Defaults to True.
    """
    fuse_bn: bool = True
    onednn_conv3d: bool = True
    channels_last: bool = True
    amp: Optional[str] = None
    compile: bool = False
    inference_mode: bool = True

    def __post_init__(self) -> None:
        if self.amp not in _DTYPES:
            raise ValueError('ssa2d_mm/benchmarks/optimize.py: amp must be '
                             f"'bf16', 'fp16' or None, got {self.amp!r}")

    @property
    def amp_dtype(self) -> Optional[torch.dtype]:
        return _DTYPES[self.amp]

    def to_dict(self) -> dict:
        return asdict(self)


def fuse_conv_bn(model: nn.Module) -> int:
    """Fold BatchNorm into the convolution before it, in every ConvModule.

    mmcv's ``fuse_conv_bn`` is not used: it rescales weights with a 4-D
    view (wrong for Conv3d) and pairs layers by registration order, not by
    the ConvModule's ``order``. Here torch's ``fuse_conv_bn_eval`` (any
    dimension, transposed convs too) runs only where ``conv`` directly
    precedes ``norm``; the norm becomes ``nn.Identity``.

    Args:
        model (nn.Module): the model, in eval mode (training BN statistics
            cannot be folded).

    Returns:
        int: how many conv+BN pairs were fused.
    """
    if model.training:
        raise RuntimeError('ssa2d_mm/benchmarks/optimize.py: fuse_conv_bn '
                           'needs model.eval() first')
    fused = 0
    for module in model.modules():
        if not isinstance(module, ConvModule) or not module.with_norm:
            continue
        norm = getattr(module, module.norm_name)
        order = list(module.order)
        if not isinstance(norm, _BatchNorm) or \
                not norm.track_running_stats or \
                order.index('norm') != order.index('conv') + 1:
            continue
        transpose = isinstance(module.conv, nn.modules.conv._ConvTransposeNd)
        module.conv = fuse_conv_bn_eval(module.conv, norm, transpose)
        setattr(module, module.norm_name, nn.Identity())
        # mmcv's efficient conv-bn path would now call into the Identity.
        module.efficient_conv_bn_eval_forward = None
        fused += 1
    return fused


def _onednn_conv3d_forward(self: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    # Under torch.compile, inductor picks its own kernels (and the op has no
    # fake-tensor rule to trace with).
    if x.device.type == 'cpu' and x.dtype == torch.float32 and \
            x.numel() > 0 and self.padding_mode == 'zeros' and \
            not torch.is_autocast_enabled('cpu') and \
            not torch.compiler.is_compiling():
        return torch.mkldnn_convolution(x, self.weight, self.bias,
                                        self.padding, self.stride,
                                        self.dilation, self.groups)
    # Other devices, dtypes (autocast picks oneDNN for bf16 itself) and
    # padding modes: the class's own forward.
    return type(self).forward(self, x)


def route_conv3d_to_onednn(model: nn.Module) -> int:
    """Run every fp32 CPU ``Conv3d`` of ``model`` through oneDNN.

    PyTorch picks oneDNN for a batch-1 convolution with a kernel of at most
    3 only if ``N * C * D * H > 20480`` (``ConvParams::use_mkldnn``, a rule
    made for 2-D inputs, blind to the width of a 3-D one); smaller volumes
    (deep levels of short clips, thin Inception branches) fall back to the
    slow im2col kernels ``slow_conv3d`` / ``slow_conv_dilated3d``. This
    calls ``torch.mkldnn_convolution`` directly instead (same arithmetic).

    Args:
        model (nn.Module): the model; its ``Conv3d`` modules (mmcv's wrapper
            too) get an instance-level ``forward``.

    Returns:
        int: how many convolutions were routed.
    """
    if not torch.backends.mkldnn.is_available():
        return 0
    routed = 0
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            module.forward = types.MethodType(_onednn_conv3d_forward, module)
            routed += 1
    return routed


def to_channels_last(x: Any) -> Any:
    """Channels-last copy of every 4-D / 5-D tensor in ``x`` (nested)."""
    if isinstance(x, torch.Tensor):
        if x.dim() == 5:
            return x.contiguous(memory_format=torch.channels_last_3d)
        if x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(to_channels_last(v) for v in x)
    if isinstance(x, dict):
        return {k: to_channels_last(v) for k, v in x.items()}
    return x


def optimize_for_inference(
        model: nn.Module,
        settings: Optional[InferenceSettings] = None,
        **overrides: Any) -> nn.Module:
    """Prepare ``model`` for inference with the chosen defaults, in place.

    Puts the model in eval mode, fuses conv+BN, routes 3D convolutions to
    oneDNN, converts weights to channels-last (3D) and optionally compiles.
    Run it under :func:`inference_context` with the same settings.

    Args:
        model (nn.Module): e.g. a built ``SSA2D``.
        settings (InferenceSettings, optional): what to apply. Defaults to
            ``InferenceSettings()``.
        **overrides: fields of :class:`InferenceSettings` to change.

    Returns:
        nn.Module: the model (``torch.compile``'s wrapper when ``compile``);
        ``_inference_settings`` records what was applied, ``_fused_conv_bn``
        how many pairs were fused, ``_onednn_conv3d`` how many convolutions
        were routed to oneDNN.
    """
    settings = settings or InferenceSettings()
    if overrides:
        settings = InferenceSettings(**{**settings.to_dict(), **overrides})
    model.eval()
    fused = fuse_conv_bn(model) if settings.fuse_bn else 0
    routed = route_conv3d_to_onednn(model) if settings.onednn_conv3d else 0
    if settings.channels_last:
        # Module.to(memory_format=...) refuses a model that mixes 4-D and
        # 5-D weights; convert each parameter by its rank instead.
        with torch.no_grad():
            for param in model.parameters():
                param.data = to_channels_last(param.data)
    model._inference_settings = settings
    model._fused_conv_bn = fused
    model._onednn_conv3d = routed
    if settings.compile:
        model = torch.compile(model)
    return model


@contextlib.contextmanager
def inference_context(settings: Optional[InferenceSettings] = None,
                      device: Union[str, torch.device] = 'cpu'
                      ) -> Iterator[None]:
    """Autograd-free (and optionally autocast) context for inference.

    Args:
        settings (InferenceSettings, optional): Defaults to
            ``InferenceSettings()``.
        device (str | torch.device): the device type autocast targets.

    Yields:
        None
    """
    settings = settings or InferenceSettings()
    grad_ctx: ContextManager = torch.inference_mode() \
        if settings.inference_mode else torch.no_grad()
    amp_ctx: ContextManager = contextlib.nullcontext()
    if settings.amp_dtype is not None:
        amp_ctx = torch.autocast(
            torch.device(device).type, dtype=settings.amp_dtype)
    with grad_ctx, amp_ctx:
        yield


def _flatten(x: Any) -> List[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _flatten(v)]
    if isinstance(x, dict):
        return [t for k in sorted(x) for t in _flatten(x[k])]
    return []


def compare_outputs(reference: Any,
                    output: Any,
                    rtol: float = 1e-3,
                    argmax_dim: Optional[int] = 1) -> Dict[str, object]:
    """Compare an optimised model's outputs with the fp32 eager ones.

    Tolerance is relative to each tensor's scale: ``max|out - ref| <=
    rtol * max|ref|`` for every tensor.

    Args:
        reference (Tensor | tuple | list | dict): fp32 eager outputs.
        output: the optimised outputs, same structure.
        rtol (float): tolerance relative to ``max|ref|``. Defaults to 1e-3.
        argmax_dim (int, optional): class dimension of logits; the share of
            positions whose argmax agrees is reported too. Defaults to 1.

    Returns:
        dict: ``ok``, ``rtol``, ``max_abs_err``, ``max_rel_err`` (worst
        over tensors) and ``argmax_agreement`` (lowest over tensors).
    """
    refs, outs = _flatten(reference), _flatten(output)
    if len(refs) != len(outs) or not refs:
        raise ValueError('ssa2d_mm/benchmarks/optimize.py: outputs differ in '
                         f'structure ({len(refs)} vs {len(outs)} tensors)')
    max_abs, max_rel, agree = 0., 0., 1.
    for r, o in zip(refs, outs):
        if r.shape != o.shape:
            raise ValueError('ssa2d_mm/benchmarks/optimize.py: output shape '
                             f'{tuple(o.shape)} != reference '
                             f'{tuple(r.shape)}')
        r, o = r.detach().float(), o.detach().float()
        err = (o - r).abs().max().item()
        scale = max(r.abs().max().item(), 1e-12)
        max_abs = max(max_abs, err)
        max_rel = max(max_rel, err / scale)
        if argmax_dim is not None and r.is_floating_point() and \
                r.dim() > argmax_dim and r.shape[argmax_dim] > 1:
            same = (r.argmax(argmax_dim) == o.argmax(argmax_dim)).float()
            agree = min(agree, same.mean().item())
    return dict(
        ok=max_rel <= rtol,
        rtol=rtol,
        max_abs_err=max_abs,
        max_rel_err=max_rel,
        argmax_agreement=agree)
