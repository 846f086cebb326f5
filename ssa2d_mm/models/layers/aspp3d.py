"""3-D atrous spatial pyramid pooling (ASPP) of SSA2D's branches."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmaction.registry import MODELS

Dilation = Union[int, Sequence[int]]


def _triple(value: Dilation, name: str) -> Tuple[int, int, int]:
    if isinstance(value, int):
        value = (value, ) * 3
    value = tuple(int(v) for v in value)
    if len(value) != 3 or min(value) < 1:
        raise ValueError(f'aspp3d.py: {name} must be a positive int or a '
                         f'(t, h, w) triple, got {value}')
    return value


@MODELS.register_module()
class ASPP3D(BaseModule):
    """Atrous spatial pyramid pooling on clips ``(N, C, T, H, W)``.

    Branches run in parallel on the input and are concatenated, then fused by
    a 1x1x1 ConvModule (DeepLabV3's ASPP, as mmseg's ``ASPPHead`` builds it
    in 2-D): a 1x1x1 conv, one 3x3x3 conv per dilation, and a clip-pooling
    branch (global average over ``T x H x W`` + 1x1x1 conv, broadcast back).
    mmseg's ``ASPPModule`` / ``ASPPHead`` are 2-D only
    (``nn.AdaptiveAvgPool2d``, bilinear resize, scalar dilations), hence this
    module.

    Args:
        in_channels (int): Input channels.
        channels (int): Channels of each branch.
        out_channels (int, optional): Channels after the fusion conv.
            Defaults to ``channels``.
        dilations (Sequence): Dilation ``(t, h, w)`` (or an int) of each
            3x3x3 branch. Defaults to SSA2D's
            ``((1, 3, 3), (1, 6, 6), (1, 9, 9), (1, 12, 12))``.
        with_pooling (bool): Add the clip-pooling branch. Defaults to True.
        conv_cfg (dict): Conv layer config. Defaults to
            ``dict(type='Conv3d')``.
        norm_cfg (dict, optional): Norm layer config. Defaults to
            ``dict(type='BN3d', requires_grad=True)``.
        act_cfg (dict, optional): Activation config. Defaults to
            ``dict(type='ReLU')``.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 out_channels: Optional[int] = None,
                 dilations: Sequence[Dilation] = ((1, 3, 3), (1, 6, 6),
                                                  (1, 9, 9), (1, 12, 12)),
                 with_pooling: bool = True,
                 conv_cfg: dict = dict(type='Conv3d'),
                 norm_cfg: Optional[dict] = dict(
                     type='BN3d', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels < 1 or channels < 1:
            raise ValueError('aspp3d.py: in_channels and channels must be '
                             f'positive, got {in_channels}, {channels}')
        self.in_channels = in_channels
        self.channels = channels
        self.out_channels = out_channels or channels
        self.dilations = tuple(
            _triple(d, f'dilations[{i}]') for i, d in enumerate(dilations))
        self.with_pooling = with_pooling
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.branches = nn.ModuleList(
            [ConvModule(in_channels, channels, 1, **common)])
        for dilation in self.dilations:
            self.branches.append(
                ConvModule(
                    in_channels,
                    channels,
                    3,
                    padding=dilation,
                    dilation=dilation,
                    **common))
        if with_pooling:
            # No norm on the pooled branch: one value per channel and clip
            # makes BatchNorm fail at batch size 1 and noisy at small batches.
            self.pool_branch = nn.Sequential(
                nn.AdaptiveAvgPool3d(1),
                ConvModule(
                    in_channels,
                    channels,
                    1,
                    conv_cfg=conv_cfg,
                    norm_cfg=None,
                    act_cfg=act_cfg))
        num_branches = len(self.branches) + int(with_pooling)
        self.bottleneck = ConvModule(num_branches * channels,
                                     self.out_channels, 1, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the pyramid.

        Args:
            x (torch.Tensor): Features ``(N, in_channels, T, H, W)``.

        Returns:
            torch.Tensor: ``(N, out_channels, T, H, W)``.
        """
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f'aspp3d.py: expected (N, {self.in_channels}, '
                             f'T, H, W) input, got {tuple(x.shape)}')
        outs = [branch(x) for branch in self.branches]
        if self.with_pooling:
            outs.append(self.pool_branch(x).expand(-1, -1, *x.shape[2:]))
        return self.bottleneck(torch.cat(outs, dim=1))
