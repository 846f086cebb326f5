"""SSA2D's actor branch: actor logits, foreground logits, actor features."""
from typing import Dict, Tuple

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmseg.models.losses import accuracy

from .base_volume_head import (BaseVolumeHead, LossCfg, as_list, build_losses,
                               resize_volume)


@MODELS.register_module()
class ActorHead(BaseVolumeHead):
    """Actor branch of SSA2D.

    A 3x3x3 ConvModule and :class:`ASPP3D` give the actor features, which the
    action branch also receives (object prior); two 1x1x1 classifiers give
    the actor logits (actors + background, softmax) and the 2-way foreground
    logits whose prediction is the selective attention mask at inference.

    Args:
        in_channels (int): Channels of the decoder features.
        channels (int): Channels of the actor features.
        num_classes (int): Actor classes, background (0) included. Defaults
            to 8 (A2D).
        loss_ce (dict or list[dict], optional): Pixel-wise classification
            loss(es) of the actor logits. Defaults to
            ``mmseg.CrossEntropyLoss(avg_non_ignore=True)``.
        loss_dice (dict or list[dict], optional): Volumetric dice loss(es) of
            the actor logits. Defaults to ``VolumetricDiceLoss()``.
        loss_fg (dict or list[dict], optional): Loss(es) of the foreground
            logits against ``gt_actor > 0``. Defaults to
            ``mmseg.CrossEntropyLoss(avg_non_ignore=True)``.
        **kwargs: :class:`BaseVolumeHead` arguments (``aspp_channels``,
            ``dilations``, ``dropout_ratio``, ``ignore_index``, ``conv_cfg``,
            ``norm_cfg``, ``act_cfg``, ``init_cfg``).
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 num_classes: int = 8,
                 loss_ce: LossCfg = dict(
                     type='mmseg.CrossEntropyLoss',
                     avg_non_ignore=True,
                     loss_weight=1.0),
                 loss_dice: LossCfg = dict(
                     type='VolumetricDiceLoss', loss_weight=1.0),
                 loss_fg: LossCfg = dict(
                     type='mmseg.CrossEntropyLoss',
                     avg_non_ignore=True,
                     loss_weight=1.0),
                 **kwargs) -> None:
        super().__init__(in_channels, channels, **kwargs)
        if num_classes < 2:
            raise ValueError('actor_head.py: num_classes counts the '
                             f'background and must be >= 2, got {num_classes}')
        self.num_classes = num_classes
        self.conv_seg = nn.Conv3d(channels, num_classes, 1)
        self.conv_fg = nn.Conv3d(channels, 2, 1)
        self.actor_losses = build_losses(as_list(loss_ce) + as_list(loss_dice))
        self.fg_losses = build_losses(loss_fg)

    def forward(
            self, x: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the branch.

        Args:
            x (torch.Tensor): Decoder features ``(N, in_channels, T', H',
                W')``.

        Returns:
            tuple[torch.Tensor]: ``actor_logits`` ``(N, num_classes, T', H',
            W')``, ``fg_logits`` ``(N, 2, T', H', W')`` and ``actor_feats``
            ``(N, channels, T', H', W')``.
        """
        feats = self.forward_feature(x)
        dropped = self.dropout(feats)
        return self.conv_seg(dropped), self.conv_fg(dropped), feats

    def fg_labels(self, gt_actor: torch.Tensor) -> torch.Tensor:
        """Foreground labels from actor labels: 1 where the actor class is
        in ``1..num_classes-1``, 0 on background, ``ignore_index`` where
        unannotated.

        Raises:
            ValueError: on labels that are neither classes nor ignored.
        """
        ignored = gt_actor == self.ignore_index
        bad = ~ignored & ((gt_actor < 0) | (gt_actor >= self.num_classes))
        if bad.any():
            values = sorted(gt_actor[bad].unique().tolist())
            raise ValueError(
                f'actor_head.py: actor labels {values} are neither in '
                f'0..{self.num_classes - 1} nor ignore_index='
                f'{self.ignore_index}')
        fg = (gt_actor > 0).long()
        return torch.where(ignored, torch.full_like(fg, self.ignore_index), fg)

    def loss_by_feat(self, actor_logits: torch.Tensor, fg_logits: torch.Tensor,
                     gt_actor: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Losses of the branch.

        Logits are resized (trilinear) to the label volume, as mmseg resizes
        logits to the label: A2D labels one frame per clip, so downsampling
        the labels could drop it.

        Args:
            actor_logits (torch.Tensor): ``(N, num_classes, T', H', W')``.
            fg_logits (torch.Tensor): ``(N, 2, T', H', W')``.
            gt_actor (torch.Tensor): Labels ``(N, T, H, W)`` int64,
                ``ignore_index`` where unannotated.

        Returns:
            dict[str, torch.Tensor]: ``loss_actor_*`` and ``loss_fg_*``
            items, plus ``acc_actor`` / ``acc_fg`` (annotated voxels, %).
        """
        if gt_actor.dim() != 4:
            raise ValueError('actor_head.py: gt_actor must be (N, T, H, W), '
                             f'got {tuple(gt_actor.shape)}')
        gt_actor = gt_actor.long()
        gt_fg = self.fg_labels(gt_actor)
        size = gt_actor.shape[1:]
        actor_logits = resize_volume(actor_logits, size)
        fg_logits = resize_volume(fg_logits, size)
        kwargs = dict(ignore_index=self.ignore_index)
        losses = self.named_losses('actor', self.actor_losses,
                                   (actor_logits, gt_actor), kwargs)
        losses.update(
            self.named_losses('fg', self.fg_losses, (fg_logits, gt_fg),
                              kwargs))
        with torch.no_grad():
            losses['acc_actor'] = accuracy(
                actor_logits, gt_actor, ignore_index=self.ignore_index)
            losses['acc_fg'] = accuracy(
                fg_logits, gt_fg, ignore_index=self.ignore_index)
        return losses
