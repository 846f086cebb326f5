"""Volumetric dice loss of SSA2D (one dice score per clip)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS

from .utils import valid_mask_from


@MODELS.register_module()
class VolumetricDiceLoss(nn.Module):
    """Volumetric dice loss: one dice score per clip over all voxels and
    classes.

    ``Dice = 2 * sum(y * p) / (sum(y ** 2) + sum(p ** 2) + eps)`` where the
    sums run over every class channel (background excluded) and every voxel
    ``T x H x W`` of a clip; the loss is ``1 - Dice``, averaged over the clips
    of the batch that hold at least one annotated voxel (V-Net's dice, as the
    SSA2D authors' code computes it). Voxels whose label is ``ignore_index``
    (or outside ``valid_mask``) are masked out of both ``y`` and ``p``. A clip
    whose annotated voxels are all background scores Dice 0 (loss 1, no
    gradient), as with the authors' formula.

    Written here because ``mmseg.DiceLoss`` is 2-D, averages one dice per
    class, and its ``ignore_index`` drops a class channel instead of masking
    the ignored pixels (A2D labels one frame of a clip: the other frames must
    be masked, not a class).

    Args:
        use_sigmoid (bool): Probabilities from a sigmoid of each channel
            (multi-label, targets multi-hot ``(N, C, T, H, W)``) instead of a
            softmax over channels (targets class indices ``(N, T, H, W)``).
            Defaults to False.
        exclude_background (bool): Leave channel 0 (background) out of the
            sums. Only valid with softmax. Defaults to True.
        ignore_index (int): Label of ignored voxels in class-index targets.
            Defaults to 255.
        eps (float): Added to the denominator. Defaults to 1e-6.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_`` to
            be back-propagated. Defaults to ``'loss_dice'``.
    """

    def __init__(self,
                 use_sigmoid: bool = False,
                 exclude_background: bool = True,
                 ignore_index: int = 255,
                 eps: float = 1e-6,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__()
        if use_sigmoid and exclude_background:
            raise ValueError(
                'volumetric_dice_loss.py: exclude_background=True needs '
                'softmax outputs with a background channel 0; multi-label '
                '(use_sigmoid=True) targets have none: set '
                'exclude_background=False')
        self.use_sigmoid = use_sigmoid
        self.exclude_background = exclude_background
        self.ignore_index = ignore_index
        self.eps = eps
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                valid_mask: Optional[torch.Tensor] = None,
                ignore_index: Optional[int] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (torch.Tensor): Logits ``(N, C, T, H, W)`` (any number of
                trailing voxel dimensions works).
            target (torch.Tensor): Class indices ``(N, T, H, W)`` (softmax),
                or multi-hot ``(N, C, T, H, W)`` (sigmoid).
            valid_mask (torch.Tensor, optional): Bool ``(N, T, H, W)``, the
                voxels that count. Combined with ``ignore_index`` for
                class-index targets. Defaults to None (all voxels).
            ignore_index (int, optional): Overrides ``self.ignore_index``.

        Returns:
            torch.Tensor: Scalar loss.
        """
        ignore_index = self.ignore_index if ignore_index is None \
            else ignore_index
        if self.use_sigmoid:
            if target.shape != pred.shape:
                raise ValueError(
                    'volumetric_dice_loss.py: with use_sigmoid=True the '
                    'target must be multi-hot with the shape of pred '
                    f'{tuple(pred.shape)}, got {tuple(target.shape)}')
            prob = pred.sigmoid()
            onehot = target.to(prob.dtype)
            valid = valid_mask_from(target[:, 0], None, valid_mask)
        else:
            if target.shape != pred.shape[:1] + pred.shape[2:]:
                raise ValueError(
                    'volumetric_dice_loss.py: class-index target must be '
                    f'{tuple(pred.shape[:1] + pred.shape[2:])} for pred '
                    f'{tuple(pred.shape)}, got {tuple(target.shape)}')
            prob = pred.softmax(dim=1)
            valid = valid_mask_from(target, ignore_index, valid_mask)
            num_classes = pred.shape[1]
            labels = torch.where(valid, target, torch.zeros_like(target))
            if labels.numel() and labels.max() >= num_classes:
                raise ValueError(
                    f'volumetric_dice_loss.py: label {int(labels.max())} '
                    f'out of range for {num_classes} classes')
            onehot = F.one_hot(labels.long(), num_classes).movedim(-1, 1)
            onehot = onehot.to(prob.dtype)
            if self.exclude_background:
                prob, onehot = prob[:, 1:], onehot[:, 1:]
        weight = valid.unsqueeze(1).to(prob.dtype)
        prob, onehot = prob * weight, onehot * weight
        dims = tuple(range(1, prob.dim()))
        inter = (prob * onehot).sum(dims)
        denom = (onehot * onehot).sum(dims) + (prob * prob).sum(dims)
        dice = 2 * inter / (denom + self.eps)
        # Clips without any annotated voxel carry no signal: leave them out.
        has_label = valid.flatten(1).any(dim=1)
        if not has_label.any():
            return pred.sum() * 0
        loss = (1 - dice)[has_label].mean()
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        """Name of the loss item (``loss_`` prefix: back-propagated)."""
        return self._loss_name
