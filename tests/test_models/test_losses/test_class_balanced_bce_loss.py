import math

import pytest
import torch
from mmaction.registry import MODELS

from ssa2d_mm.models.losses import ClassBalancedBCELoss


def _bce(logit, y):
    p = 1 / (1 + math.exp(-logit))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_class_balanced_bce_matches_hand_computation():
    # One clip, 2 classes, 4 voxels (T=1, H=1, W=4); voxel 3 unannotated.
    logits = [[0.5, -1.0, 2.0, 7.0], [1.5, -0.5, 0.3, -4.0]]
    target = [[1, 0, 0, 1], [1, 1, 0, 0]]
    pred = torch.tensor(logits, dtype=torch.float64).view(1, 2, 1, 1, 4)
    gt = torch.tensor(target).view(1, 2, 1, 1, 4)
    valid = torch.tensor([True, True, True, False]).view(1, 1, 1, 4)
    # N = 3 annotated voxels.
    # class 0: n_pos = 1, n_neg = 2 -> w_pos = 3/3, w_neg = 3/5
    # class 1: n_pos = 2, n_neg = 1 -> w_pos = 3/5, w_neg = 3/3
    total = (1.0 * _bce(0.5, 1) + 0.6 * _bce(-1.0, 0) + 0.6 * _bce(2.0, 0) +
             0.6 * _bce(1.5, 1) + 0.6 * _bce(-0.5, 1) + 1.0 * _bce(0.3, 0))
    expected = total / 6
    loss = ClassBalancedBCELoss()(pred, gt, valid_mask=valid)
    assert math.isclose(loss.item(), expected, rel_tol=1e-9)
    # Weights of a rare positive class are larger than of its negatives.
    w = ClassBalancedBCELoss.class_weights(gt.double(), valid)
    assert w[0, 0, 0, 0, 0] == 1.0 and math.isclose(w[0, 0, 0, 0, 1], 0.6)
    assert w[0, 0, 0, 0, 3] == 0  # unannotated


def test_class_balanced_bce_ignores_masked_voxels():
    pred = torch.randn(2, 3, 2, 4, 4)
    gt = (torch.rand(2, 3, 2, 4, 4) > 0.7).to(torch.uint8)
    valid = torch.rand(2, 2, 4, 4) > 0.3
    loss = ClassBalancedBCELoss(loss_weight=0.5)
    base = loss(pred, gt, valid_mask=valid)
    changed = pred.clone()
    changed[~valid.unsqueeze(1).expand_as(pred)] = 100.
    gt2 = gt.clone()
    gt2[~valid.unsqueeze(1).expand_as(gt)] = 1
    assert torch.allclose(loss(changed, gt2, valid_mask=valid), base)
    assert not torch.allclose(loss(changed, gt2), base)


def test_class_balanced_bce_registry_and_errors():
    loss = MODELS.build(dict(type='ClassBalancedBCELoss'))
    assert loss.loss_name == 'loss_bce'
    pred = torch.zeros(1, 2, 1, 1, 2, requires_grad=True)
    out = loss(
        pred,
        torch.zeros(1, 2, 1, 1, 2),
        valid_mask=torch.zeros(1, 1, 1, 2, dtype=torch.bool))
    assert out.item() == 0
    with pytest.raises(ValueError, match='class_balanced_bce_loss.py'):
        loss(pred, torch.zeros(1, 1, 2, 2))
