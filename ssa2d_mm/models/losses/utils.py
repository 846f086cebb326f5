"""Helpers shared by the SSA2D losses."""
from typing import Optional

import torch


def valid_mask_from(target: torch.Tensor,
                    ignore_index: Optional[int] = None,
                    valid_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Voxels that count in a loss.

    Args:
        target (torch.Tensor): Labels ``(N, T, H, W)``.
        ignore_index (int, optional): Label of ignored voxels; None: none.
        valid_mask (torch.Tensor, optional): Extra bool mask ``(N, T, H, W)``.

    Returns:
        torch.Tensor: Bool ``(N, T, H, W)``.
    """
    if ignore_index is None:
        valid = torch.ones_like(target, dtype=torch.bool)
    else:
        valid = target != ignore_index
    if valid_mask is not None:
        if valid_mask.shape != valid.shape:
            raise ValueError(
                f'losses: valid_mask {tuple(valid_mask.shape)} does not '
                f'match the label volume {tuple(valid.shape)}')
        valid = valid & valid_mask.bool()
    return valid
