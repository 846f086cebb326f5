"""Class-balanced binary cross-entropy of SSA2D's multi-label action head."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS

from .utils import valid_mask_from


@MODELS.register_module()
class ClassBalancedBCELoss(nn.Module):
    """Binary cross-entropy with per-clip, per-class positive / negative
    weights (SSA2D's VidOR action loss).

    For each clip and class, with ``N`` annotated voxels of which ``n_pos``
    are positive and ``n_neg = N - n_pos`` negative, positives weigh
    ``N / (2 * n_pos + 1)`` and negatives ``N / (2 * n_neg + 1)``, so that
    both halves count about equally however rare a class is. The loss is the
    mean of the weighted element-wise BCE over annotated voxels and classes.
    Voxels outside ``valid_mask`` are left out of the counts and the mean.

    Written here because neither mmseg's nor mmaction's BCE computes weights
    from the counts of each clip, nor masks voxels of a multi-hot target.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to ``'loss_bce'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_bce') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @staticmethod
    def class_weights(target: torch.Tensor,
                      valid: torch.Tensor) -> torch.Tensor:
        """Element-wise weights.

        Args:
            target (torch.Tensor): Multi-hot ``(N, C, T, H, W)`` in {0, 1}.
            valid (torch.Tensor): Bool ``(N, T, H, W)``.

        Returns:
            torch.Tensor: Weights ``(N, C, T, H, W)``, 0 outside ``valid``.
        """
        valid = valid.unsqueeze(1).to(target.dtype)
        dims = tuple(range(2, target.dim()))
        total = valid.sum(dims, keepdim=True)
        n_pos = (target * valid).sum(dims, keepdim=True)
        n_neg = total - n_pos
        w_pos = total / (2 * n_pos + 1)
        w_neg = total / (2 * n_neg + 1)
        return (target * w_pos + (1 - target) * w_neg) * valid

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                valid_mask: Optional[torch.Tensor] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (torch.Tensor): Logits ``(N, C, T, H, W)``.
            target (torch.Tensor): Multi-hot ``(N, C, T, H, W)``.
            valid_mask (torch.Tensor, optional): Bool ``(N, T, H, W)``.
                Defaults to None (every voxel counts).

        Returns:
            torch.Tensor: Scalar loss.
        """
        if target.shape != pred.shape:
            raise ValueError(
                'class_balanced_bce_loss.py: target must be multi-hot with '
                f'the shape of pred {tuple(pred.shape)}, got '
                f'{tuple(target.shape)}')
        target = target.to(pred.dtype)
        valid = valid_mask_from(target[:, 0], None, valid_mask)
        with torch.no_grad():
            weight = self.class_weights(target, valid)
        loss = F.binary_cross_entropy_with_logits(
            pred, target, weight=weight, reduction='sum')
        count = valid.sum() * pred.shape[1]
        if count == 0:
            return pred.sum() * 0
        return self.loss_weight * loss / count

    @property
    def loss_name(self) -> str:
        """Name of the loss item (``loss_`` prefix: back-propagated)."""
        return self._loss_name
