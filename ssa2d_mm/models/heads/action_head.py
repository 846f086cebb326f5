"""SSA2D's action branch (single-label softmax or multi-label sigmoid)."""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmseg.models.losses import accuracy

from .base_volume_head import (BaseVolumeHead, LossCfg, build_losses,
                               resize_volume)


@MODELS.register_module()
class ActionHead(BaseVolumeHead):
    """Action branch of SSA2D: a 3x3x3 ConvModule, :class:`ASPP3D` and a
    1x1x1 classifier on the fused (object prior + attention mask) features.

    Single-label (A2D): softmax over ``num_classes`` actions with background
    class 0, labels ``(N, T, H, W)``. Multi-label (VidOR): one sigmoid per
    action class, no background channel, labels multi-hot ``(N, T, A, H,
    W)``; the voxels that count come from the actor labels' ignore index.

    Args:
        in_channels (int): Channels of the fused features.
        channels (int): Channels of the branch features.
        num_classes (int): Action classes (background included when
            single-label). Defaults to 10 (A2D).
        multi_label (bool): Sigmoid multi-label output. Defaults to False.
        loss_decode (dict or list[dict], optional): Losses. Defaults to None:
            ``mmseg.CrossEntropyLoss(avg_non_ignore=True)`` +
            ``VolumetricDiceLoss()`` single-label, ``ClassBalancedBCELoss()``
            multi-label. Multi-label losses are called as ``loss(logits,
            multi_hot, valid_mask=...)`` (``ClassBalancedBCELoss``,
            ``VolumetricDiceLoss(use_sigmoid=True, exclude_background=
            False)``); single-label ones as ``loss(logits, labels,
            ignore_index=...)``.
        **kwargs: :class:`BaseVolumeHead` arguments.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 num_classes: int = 10,
                 multi_label: bool = False,
                 loss_decode: LossCfg = None,
                 **kwargs) -> None:
        super().__init__(in_channels, channels, **kwargs)
        min_classes = 1 if multi_label else 2
        if num_classes < min_classes:
            raise ValueError(
                f'action_head.py: num_classes must be >= {min_classes} '
                f'(multi_label={multi_label}), got {num_classes}')
        self.num_classes = num_classes
        self.multi_label = multi_label
        if loss_decode is None:
            loss_decode = [dict(type='ClassBalancedBCELoss')] \
                if multi_label else [
                    dict(type='mmseg.CrossEntropyLoss', avg_non_ignore=True),
                    dict(type='VolumetricDiceLoss')
                ]
        self.losses = build_losses(loss_decode)
        self.conv_seg = nn.Conv3d(channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the branch.

        Args:
            x (torch.Tensor): Fused features ``(N, in_channels, T', H', W')``.

        Returns:
            torch.Tensor: Action logits ``(N, num_classes, T', H', W')``.
        """
        return self.conv_seg(self.dropout(self.forward_feature(x)))

    def loss_by_feat(
            self,
            action_logits: torch.Tensor,
            gt_action: torch.Tensor,
            valid_mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Losses of the branch, on logits resized (trilinear) to the labels.

        Args:
            action_logits (torch.Tensor): ``(N, num_classes, T', H', W')``.
            gt_action (torch.Tensor): Single-label ``(N, T, H, W)`` int64
                (``ignore_index`` where unannotated) or multi-hot ``(N, T, A,
                H, W)``, the data samples' layout.
            valid_mask (torch.Tensor, optional): Bool ``(N, T, H, W)``, the
                annotated voxels (multi-label: the actor labels other than
                ``ignore_index``). Defaults to None: every voxel (multi-label)
                or the labels' own ignore index (single-label).

        Returns:
            dict[str, torch.Tensor]: ``loss_action_*`` items (and
            ``acc_action`` single-label).
        """
        if self.multi_label:
            if gt_action.dim() != 5 or gt_action.shape[2] != \
                    self.num_classes:
                raise ValueError(
                    'action_head.py: multi-label gt_action must be (N, T, '
                    f'{self.num_classes}, H, W), got '
                    f'{tuple(gt_action.shape)}')
            target = gt_action.permute(0, 2, 1, 3, 4)
            logits = resize_volume(action_logits, target.shape[2:])
            return self.named_losses('action', self.losses, (logits, target),
                                     dict(valid_mask=valid_mask))
        if gt_action.dim() != 4:
            raise ValueError('action_head.py: single-label gt_action must be '
                             f'(N, T, H, W), got {tuple(gt_action.shape)}')
        gt_action = gt_action.long()
        if valid_mask is not None:
            gt_action = torch.where(
                valid_mask.bool(), gt_action,
                torch.full_like(gt_action, self.ignore_index))
        logits = resize_volume(action_logits, gt_action.shape[1:])
        losses = self.named_losses('action', self.losses, (logits, gt_action),
                                   dict(ignore_index=self.ignore_index))
        with torch.no_grad():
            losses['acc_action'] = accuracy(
                logits, gt_action, ignore_index=self.ignore_index)
        return losses
