"""SSA2D's decoder: non-local context, transposed-conv upsampling, U-Net
skips."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, NonLocal3d
from mmengine.model import BaseModule
from mmaction.registry import MODELS

Stride = Union[int, Sequence[int]]


def _triple(value: Stride, name: str) -> Tuple[int, int, int]:
    if isinstance(value, int):
        value = (value, ) * 3
    value = tuple(int(v) for v in value)
    if len(value) != 3 or min(value) < 1:
        raise ValueError(f'ssa2d_decoder.py: {name} must be a positive int '
                         f'or a (t, h, w) triple, got {value}')
    return value


def upsample_conv_args(stride: Tuple[int, int, int]) -> dict:
    """Kernel, padding and output padding of a transposed conv that scales
    each dimension exactly by ``stride`` (``out = in * stride``).

    A 3-wide kernel for strides up to 3 (the authors' 3x3x3 deconvs), a
    ``stride``-wide kernel above so that no output voxel is left out.
    """
    kernel = tuple(max(3, s) for s in stride)
    output_padding = tuple(s - k + 2 for s, k in zip(stride, kernel))
    # ConvModule has no output_padding argument: it goes to the layer
    # through conv_cfg.
    return dict(
        kernel_size=kernel,
        stride=stride,
        padding=(1, 1, 1),
        conv_cfg=dict(type='deconv3d', output_padding=output_padding))


@MODELS.register_module()
class SSA2DDecoder(BaseModule):
    """Decoder of SSA2D: from a backbone's feature levels to one feature
    volume.

    1. Context on the deepest level (optional): a 1x1x1 ConvModule reduces it
       to ``context_cfg['channels']``, then mmcv's ``NonLocal3d`` (embedded
       Gaussian) adds its non-local response to that reduction
       (``y = r + W * NL(r)``), as the paper's "non-local block added to a
       1x1x1 reduction".
    2. Upsampling stages, in decoding order (deepest first): a transposed
       3-D ConvModule scales by ``upsample_strides[j]`` to ``channels[j]``;
       the first ``len(in_channels) - 1`` stages land on the next shallower
       level, are concatenated with it (U-Net skip) and fused by a ConvModule
       back to ``channels[j]``. Further stages (for backbones with one level,
       such as X3D) only upsample. If an upsampled map's size differs from
       its skip's (odd sizes, other backbones), it is resized to the skip's
       size (trilinear), so any mmaction 3-D backbone fits by changing only
       ``in_channels`` and the strides.

    For InceptionI3D on a 16x224x224 clip, levels ``(192, 8, 56, 56)``,
    ``(480, 8, 28, 28)``, ``(832, 4, 14, 14)`` with
    ``upsample_strides=((2, 2, 2), (1, 2, 2))`` give ``(C, 8, 56, 56)``.

    Args:
        in_channels (Sequence[int]): Channels of the backbone's levels, high
            resolution first (the backbone's order).
        channels (Sequence[int]): Output channels of each upsampling stage,
            in decoding order. Same length as ``upsample_strides``.
        upsample_strides (Sequence): Scale ``(t, h, w)`` (or an int) of each
            upsampling stage, in decoding order (deepest first); at least
            ``len(in_channels) - 1`` entries. Defaults to the I3D setting
            ``((2, 2, 2), (1, 2, 2))``.
        context_cfg (dict, optional): ``channels`` of the reduction plus
            keyword arguments of ``NonLocal3d`` (``reduction`` defaults to 1
            here, the authors' full-width embedding; ``mode`` to
            ``'embedded_gaussian'``). None: no context, the deepest level
            enters the first stage as it is. Defaults to
            ``dict(channels=480)``.
        skip_kernel_size (int): Kernel of the ConvModule fusing a skip.
            Defaults to 1: the authors' decoder concatenates skips without a
            spatial conv (the branch heads' 3x3x3 conv follows); a 3x3x3
            fusion on the I3D setting costs 222 instead of 99 GMAC per
            16x224x224 clip and 36 instead of 22 M parameters.
        conv_cfg (dict): Conv layer config. Defaults to
            ``dict(type='Conv3d')``.
        norm_cfg (dict, optional): Norm config. Defaults to
            ``dict(type='BN3d', requires_grad=True)``.
        act_cfg (dict, optional): Activation config. Defaults to
            ``dict(type='ReLU')``.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: Sequence[int],
                 upsample_strides: Sequence[Stride] = ((2, 2, 2), (1, 2, 2)),
                 context_cfg: Optional[dict] = dict(channels=480),
                 skip_kernel_size: int = 1,
                 conv_cfg: dict = dict(type='Conv3d'),
                 norm_cfg: Optional[dict] = dict(
                     type='BN3d', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(in_channels, int):
            in_channels = (in_channels, )
        if isinstance(channels, int):
            channels = (channels, )
        self.in_channels = tuple(in_channels)
        self.channels = tuple(channels)
        self.upsample_strides = tuple(
            _triple(s, f'upsample_strides[{i}]')
            for i, s in enumerate(upsample_strides))
        num_skips = len(self.in_channels) - 1
        if len(self.in_channels) == 0:
            raise ValueError('ssa2d_decoder.py: in_channels is empty')
        if len(self.upsample_strides) < num_skips:
            raise ValueError(
                f'ssa2d_decoder.py: {len(self.in_channels)} levels need at '
                f'least {num_skips} upsample_strides (one per skip), got '
                f'{len(self.upsample_strides)}')
        if len(self.channels) != len(self.upsample_strides):
            raise ValueError(
                'ssa2d_decoder.py: channels gives one width per upsampling '
                f'stage: {len(self.upsample_strides)} expected, got '
                f'{len(self.channels)}')
        self.num_skips = num_skips

        # Context on the deepest level.
        prev = self.in_channels[-1]
        if context_cfg is not None:
            context_cfg = dict(context_cfg)
            if 'channels' not in context_cfg:
                raise ValueError('ssa2d_decoder.py: context_cfg needs '
                                 "'channels'")
            ctx_channels = context_cfg.pop('channels')
            context_cfg.setdefault('reduction', 1)
            context_cfg.setdefault('mode', 'embedded_gaussian')
            self.context_reduction = ConvModule(
                prev,
                ctx_channels,
                1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)
            # NonLocal3d returns r + conv_out(NL(r)): the paper's addition.
            self.context = NonLocal3d(ctx_channels, **context_cfg)
            prev = ctx_channels
        else:
            self.context_reduction = None
            self.context = None

        self.up_convs = nn.ModuleList()
        self.skip_convs = nn.ModuleList()
        for j, (stride,
                width) in enumerate(zip(self.upsample_strides, self.channels)):
            self.up_convs.append(
                ConvModule(
                    prev,
                    width,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    **upsample_conv_args(stride)))
            if j < num_skips:
                skip = self.in_channels[num_skips - 1 - j]
                self.skip_convs.append(
                    ConvModule(
                        width + skip,
                        width,
                        skip_kernel_size,
                        padding=skip_kernel_size // 2,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg))
            prev = width
        self._out_channels = prev

    @property
    def out_channels(self) -> int:
        """Channels of the output volume."""
        return self._out_channels

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Decode.

        Args:
            inputs (Sequence[torch.Tensor]): The backbone's levels
                ``(N, in_channels[i], T_i, H_i, W_i)``, high resolution first
                (a single tensor is taken as one level).

        Returns:
            torch.Tensor: ``(N, out_channels, T', H', W')``, at the first
            level's size (times the extra stages' strides, if any).
        """
        if isinstance(inputs, torch.Tensor):
            inputs = (inputs, )
        if len(inputs) != len(self.in_channels):
            raise ValueError(
                f'ssa2d_decoder.py: expected {len(self.in_channels)} levels '
                f'(in_channels={self.in_channels}), got {len(inputs)}')
        for i, (x, c) in enumerate(zip(inputs, self.in_channels)):
            if x.dim() != 5 or x.shape[1] != c:
                raise ValueError(
                    f'ssa2d_decoder.py: level {i} must be (N, {c}, T, H, W), '
                    f'got {tuple(x.shape)}; check in_channels against the '
                    'backbone')
        x = inputs[-1]
        if self.context is not None:
            x = self.context(self.context_reduction(x))
        for j, up_conv in enumerate(self.up_convs):
            x = up_conv(x)
            if j < self.num_skips:
                skip = inputs[self.num_skips - 1 - j]
                if x.shape[2:] != skip.shape[2:]:
                    x = F.interpolate(
                        x,
                        size=skip.shape[2:],
                        mode='trilinear',
                        align_corners=False)
                x = self.skip_convs[j](torch.cat([x, skip], dim=1))
        return x
