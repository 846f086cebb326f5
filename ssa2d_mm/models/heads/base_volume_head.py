"""Shared trunk and loss plumbing of SSA2D's actor and action heads."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmaction.registry import MODELS

from ..layers import ASPP3D

LossCfg = Optional[Union[dict, Sequence[dict]]]


def as_list(cfg: LossCfg) -> List[dict]:
    """A loss config (a dict, a list of dicts, or None) as a list."""
    if cfg is None:
        return []
    return [cfg] if isinstance(cfg, dict) else list(cfg)


def build_losses(cfg: LossCfg) -> nn.ModuleList:
    """Build a loss config (a dict, a list of dicts, or None)."""
    return nn.ModuleList(MODELS.build(c) for c in as_list(cfg))


def resize_volume(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Trilinear resize of ``(N, C, T, H, W)`` logits to ``size`` ``(T, H,
    W)``; returns ``x`` itself if it has that size already."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return F.interpolate(
        x, size=tuple(size), mode='trilinear', align_corners=False)


class BaseVolumeHead(BaseModule):
    """Trunk of a SSA2D branch: a 3x3x3 ConvModule, then :class:`ASPP3D`.

    mmseg's ``BaseDecodeHead`` is 2-D (its losses and predictions expect
    ``(N, C, H, W)``), so the branch heads build on this instead.

    Args:
        in_channels (int): Input channels.
        channels (int): Channels of the trunk conv and of the ASPP output
            (the branch features).
        aspp_channels (int, optional): Channels of each ASPP branch.
            Defaults to ``channels``.
        dilations (Sequence): ASPP dilations. Defaults to SSA2D's
            ``((1, 3, 3), (1, 6, 6), (1, 9, 9), (1, 12, 12))``.
        dropout_ratio (float): Dropout (channel-wise, ``nn.Dropout3d``)
            before the classifiers. Defaults to 0.1.
        ignore_index (int): Label of unannotated voxels. Defaults to 255.
        conv_cfg (dict): Conv config. Defaults to ``dict(type='Conv3d')``.
        norm_cfg (dict, optional): Norm config. Defaults to
            ``dict(type='BN3d', requires_grad=True)``.
        act_cfg (dict, optional): Activation config. Defaults to
            ``dict(type='ReLU')``.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 aspp_channels: Optional[int] = None,
                 dilations: Sequence = ((1, 3, 3), (1, 6, 6), (1, 9, 9),
                                        (1, 12, 12)),
                 dropout_ratio: float = 0.1,
                 ignore_index: int = 255,
                 conv_cfg: dict = dict(type='Conv3d'),
                 norm_cfg: Optional[dict] = dict(
                     type='BN3d', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.channels = channels
        self.ignore_index = ignore_index
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.pre_conv = ConvModule(
            in_channels, channels, 3, padding=1, **common)
        self.aspp = ASPP3D(
            channels,
            aspp_channels or channels,
            out_channels=channels,
            dilations=dilations,
            **common)
        self.dropout = nn.Dropout3d(dropout_ratio) \
            if dropout_ratio > 0 else nn.Identity()

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'{self.__class__.__name__}: expected (N, {self.in_channels}'
                f', T, H, W) features, got {tuple(x.shape)}')

    def forward_feature(self, x: torch.Tensor) -> torch.Tensor:
        """Branch features.

        Args:
            x (torch.Tensor): ``(N, in_channels, T', H', W')``.

        Returns:
            torch.Tensor: ``(N, channels, T', H', W')``.
        """
        self._check_input(x)
        return self.aspp(self.pre_conv(x))

    @staticmethod
    def named_losses(branch: str, losses: nn.ModuleList, args: Tuple,
                     kwargs: dict) -> Dict[str, torch.Tensor]:
        """Run ``losses`` on ``args`` and name each item after its branch.

        ``loss_ce`` of the ``actor`` branch becomes ``loss_actor_ce``: two
        branches that both emit ``loss_ce`` would otherwise collide.

        Raises:
            ValueError: if two losses of the branch share a name.
        """
        out = {}
        for loss in losses:
            name = loss.loss_name
            if name.startswith('loss_'):
                key = f'loss_{branch}_{name[len("loss_"):]}'
            else:  # logged, not back-propagated (mmengine's convention)
                key = f'{branch}_{name}'
            if key in out:
                raise ValueError(
                    f'two losses of the {branch} branch are both named '
                    f'{name!r}: give them distinct loss_name')
            out[key] = loss(*args, **kwargs)
        return out
