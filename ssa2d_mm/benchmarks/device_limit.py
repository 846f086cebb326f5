"""The machine's attainable throughput for a model's dominant operations.

A model's achieved GFLOP/s means little alone; it is set against what the
same machine reaches on the operation that dominates the model's compute, in
the same dtype and memory layout: the model's largest convolution (found by
hooks during one forward, e.g. a decoder's 3D convolution) run in isolation,
and a large square matmul. Both are timed at their best run (attainable, not
typical).
"""
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from .timing import time_callable

_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d,
               nn.ConvTranspose2d, nn.ConvTranspose3d)


@dataclass
class ConvSpec:
    """One convolution's configuration and input shape.

    Args:
        kind (str): the ``torch.nn`` class name, e.g. ``'Conv3d'``,
            ``'ConvTranspose3d'``.
        input_shape (tuple[int]): ``(N, C_in, *spatial)``.
        out_channels (int): output channels.
        kernel_size, stride, padding, dilation, output_padding (tuple[int]):
            as in ``torch.nn``; ``output_padding`` only for transposed ones.
        groups (int): channel groups.
        macs (int): multiply-adds of one call (filled by :func:`conv_macs`).
        calls (int): how many layers of the model share this spec.
        name (str): the first layer found with it.
    """
    kind: str
    input_shape: Tuple[int, ...]
    out_channels: int
    kernel_size: Tuple[int, ...]
    stride: Tuple[int, ...] = None
    padding: Tuple[int, ...] = None
    dilation: Tuple[int, ...] = None
    output_padding: Tuple[int, ...] = None
    groups: int = 1
    macs: int = 0
    calls: int = 1
    name: str = ''

    def __post_init__(self) -> None:
        dims = len(self.kernel_size)
        self.input_shape = tuple(self.input_shape)
        self.kernel_size = tuple(self.kernel_size)
        self.stride = tuple(self.stride or (1, ) * dims)
        self.padding = tuple(self.padding or (0, ) * dims)
        self.dilation = tuple(self.dilation or (1, ) * dims)
        self.output_padding = tuple(self.output_padding or (0, ) * dims)
        if self.kind not in {t.__name__ for t in _CONV_TYPES}:
            raise ValueError('ssa2d_mm/benchmarks/device_limit.py: unknown '
                             f'convolution kind {self.kind!r}')
        if len(self.input_shape) != dims + 2:
            raise ValueError(
                'ssa2d_mm/benchmarks/device_limit.py: input_shape '
                f'{self.input_shape} does not fit a {dims}-D kernel')

    @property
    def transposed(self) -> bool:
        return self.kind.startswith('ConvTranspose')

    def build(self) -> nn.Module:
        """The ``torch.nn`` module with this configuration (no bias)."""
        kwargs = dict(
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=False)
        if self.transposed:
            kwargs['output_padding'] = self.output_padding
        return getattr(nn, self.kind)(self.input_shape[1], self.out_channels,
                                      self.kernel_size, **kwargs)

    def to_dict(self) -> dict:
        return asdict(self)


#: A large 3D convolution shaped like SSA2D's decoder at 16x224x224
#: (8 x 56 x 56 voxels, 3x3x3 kernel), used when no model is given.
DEFAULT_CONV3D = ConvSpec(
    kind='Conv3d',
    input_shape=(1, 128, 8, 56, 56),
    out_channels=128,
    kernel_size=(3, 3, 3),
    padding=(1, 1, 1),
    name='default decoder-like Conv3d')


def conv_macs(module: nn.Module, inp: torch.Tensor,
              out: torch.Tensor) -> int:
    """Multiply-adds of one call of a ``torch.nn`` convolution.

    Args:
        module (nn.Module): a ``ConvNd`` or ``ConvTransposeNd``.
        inp (Tensor): its input ``(N, C_in, *spatial)``.
        out (Tensor): its output ``(N, C_out, *spatial_out)``.

    Returns:
        int: MACs; for a transposed conv every input voxel is scattered
        through the whole kernel, so it counts input voxels.
    """
    kernel = 1
    for k in module.kernel_size:
        kernel *= k
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return inp.numel() * (module.out_channels // module.groups) * kernel
    return out.numel() * (module.in_channels // module.groups) * kernel


def find_conv_specs(model: nn.Module,
                    run: Callable[[], object]) -> List[ConvSpec]:
    """Every distinct convolution that ``run`` executes in ``model``.

    Args:
        model (nn.Module): the model whose convolutions are hooked.
        run (Callable[[], object]): one forward of it, e.g.
            ``lambda: model(x, mode='tensor')``.

    Returns:
        list[ConvSpec]: distinct (configuration, input shape) pairs, their
        total MACs in ``macs`` (summed over ``calls``), largest first.
    """
    specs: 'OrderedDict[tuple, ConvSpec]' = OrderedDict()
    handles = []

    def hook(name: str):

        def _hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
            inp = args[0]
            spec = ConvSpec(
                kind=type(module).__name__
                if type(module) in _CONV_TYPES else _torch_base(module),
                input_shape=tuple(inp.shape),
                out_channels=module.out_channels,
                kernel_size=module.kernel_size,
                stride=module.stride,
                padding=module.padding,
                dilation=module.dilation,
                output_padding=getattr(module, 'output_padding', None),
                groups=module.groups,
                name=name)
            key = (spec.kind, spec.input_shape, spec.out_channels,
                   spec.kernel_size, spec.stride, spec.padding, spec.dilation,
                   spec.output_padding, spec.groups)
            macs = conv_macs(module, inp, out)
            if key in specs:
                specs[key].macs += macs
                specs[key].calls += 1
            else:
                spec.macs = macs
                specs[key] = spec

        return _hook

    for name, module in model.named_modules():
        if isinstance(module, _CONV_TYPES):
            handles.append(module.register_forward_hook(hook(name)))
    try:
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    return sorted(specs.values(), key=lambda s: s.macs, reverse=True)


def _torch_base(module: nn.Module) -> str:
    # mmcv wraps torch convs in subclasses (e.g. mmcv.cnn.Conv3d); time the
    # torch class they run.
    for cls in type(module).__mro__:
        if cls in _CONV_TYPES:
            return cls.__name__
    raise TypeError(f'{type(module)} is not a convolution')


def measure_conv_throughput(spec: ConvSpec,
                            dtype: torch.dtype = torch.float32,
                            device: Union[str, torch.device] = 'cpu',
                            channels_last: bool = False,
                            warmup: int = 2,
                            iters: int = 5,
                            seed: int = 0) -> Dict[str, object]:
    """Attainable GFLOP/s of one convolution in isolation.

    Args:
        spec (ConvSpec): the convolution and its input shape.
        dtype (torch.dtype): weights and input dtype (bf16 for an autocast
            model: autocast runs convolutions in it). Defaults to fp32.
        device (str | torch.device): where to run. Defaults to 'cpu'.
        channels_last (bool): channels-last (3D) memory format for 4-D /
            5-D tensors. Defaults to False.
        warmup (int): untimed runs. Defaults to 2.
        iters (int): timed runs; the best one counts. Defaults to 5.
        seed (int): seed of the random weights and input. Defaults to 0.

    Returns:
        dict: ``spec``, ``dtype``, ``channels_last``, ``macs`` of one call,
        ``best_s``, ``median_s`` and ``gflops`` (2 x MACs / best).
    """
    gen = torch.Generator().manual_seed(seed)
    conv = spec.build().eval()
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen))
    x = torch.randn(spec.input_shape, generator=gen)
    conv = conv.to(device=device, dtype=dtype)
    x = x.to(device=device, dtype=dtype)
    fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(x.dim())
    if channels_last and fmt is not None:
        conv = conv.to(memory_format=fmt)
        x = x.contiguous(memory_format=fmt)
    with torch.inference_mode():
        out = conv(x)
        macs = conv_macs(conv, x, out)
        del out
        timing = time_callable(
            lambda: conv(x), warmup=warmup, iters=iters, device=device)
    return dict(
        op=spec.kind,
        spec=spec.to_dict(),
        dtype=str(dtype).replace('torch.', ''),
        channels_last=bool(channels_last and fmt is not None),
        macs=macs,
        best_s=timing.min,
        median_s=timing.median,
        gflops=2 * macs / timing.min / 1e9)


def measure_matmul_throughput(size: int = 2048,
                              dtype: torch.dtype = torch.float32,
                              device: Union[str, torch.device] = 'cpu',
                              warmup: int = 2,
                              iters: int = 5,
                              seed: int = 0) -> Dict[str, object]:
    """Attainable GFLOP/s of a square ``size x size`` matmul.

    Args:
        size (int): the matrices' side. Defaults to 2048.
        dtype (torch.dtype): their dtype. Defaults to fp32.
        device (str | torch.device): where to run. Defaults to 'cpu'.
        warmup (int): untimed runs. Defaults to 2.
        iters (int): timed runs; the best one counts. Defaults to 5.
        seed (int): seed of the random operands. Defaults to 0.

    Returns:
        dict: ``size``, ``dtype``, ``best_s``, ``median_s``, ``gflops``.
    """
    if size < 1:
        raise ValueError('ssa2d_mm/benchmarks/device_limit.py: matmul size '
                         f'must be positive, got {size}')
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(size, size, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=gen).to(device=device, dtype=dtype)
    with torch.inference_mode():
        timing = time_callable(
            lambda: a @ b, warmup=warmup, iters=iters, device=device)
    return dict(
        op='matmul',
        size=size,
        dtype=str(dtype).replace('torch.', ''),
        best_s=timing.min,
        median_s=timing.median,
        gflops=2 * size**3 / timing.min / 1e9)


def measure_device_limit(conv_specs: Optional[Sequence[ConvSpec]] = None,
                         dtype: torch.dtype = torch.float32,
                         device: Union[str, torch.device] = 'cpu',
                         channels_last: bool = False,
                         matmul_size: int = 2048,
                         warmup: int = 2,
                         iters: int = 5) -> Dict[str, object]:
    """Attainable throughput of the dominant convolution(s) and a matmul.

    Args:
        conv_specs (Sequence[ConvSpec], optional): the convolutions to time,
            e.g. the first entries of :func:`find_conv_specs`. Defaults to
            ``[DEFAULT_CONV3D]``.
        dtype (torch.dtype): compute dtype. Defaults to fp32.
        device (str | torch.device): where to run. Defaults to 'cpu'.
        channels_last (bool): channels-last layout for the convolutions.
        matmul_size (int): side of the square matmul. Defaults to 2048.
        warmup (int): untimed runs per op. Defaults to 2.
        iters (int): timed runs per op (best counts). Defaults to 5.

    Returns:
        dict: ``convs`` (one entry per spec), ``matmul``, and
        ``limit_gflops``: the best of them, the reference for a model's
        fraction of the machine's limit.
    """
    specs = list(conv_specs) if conv_specs else [DEFAULT_CONV3D]
    convs = [
        measure_conv_throughput(
            s,
            dtype=dtype,
            device=device,
            channels_last=channels_last,
            warmup=warmup,
            iters=iters) for s in specs
    ]
    matmul = measure_matmul_throughput(
        matmul_size, dtype=dtype, device=device, warmup=warmup, iters=iters)
    return dict(
        dtype=str(dtype).replace('torch.', ''),
        device=str(device),
        convs=convs,
        matmul=matmul,
        conv_gflops=max(c['gflops'] for c in convs),
        limit_gflops=max([c['gflops'] for c in convs] + [matmul['gflops']]))
