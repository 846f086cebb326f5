import math

import pytest
import torch
from mmaction.registry import MODELS

from ssa2d_mm.models.losses import VolumetricDiceLoss


def _logits(probs):
    """(N, C, ...) logits whose softmax is ``probs``."""
    return torch.tensor(probs, dtype=torch.float64).log()


def _clip_a():
    # One clip, 3 classes, 4 voxels (T=1, H=1, W=4); class 2 is empty in
    # the labels, voxel 2 is ignored.
    probs = [[0.2, 0.5, 0.1, 0.1], [0.7, 0.3, 0.1, 0.6], [0.1, 0.2, 0.8, 0.3]]
    labels = [1, 0, 255, 1]
    return probs, labels


def _clip_b():
    probs = [[1 / 3] * 4] * 3
    labels = [2, 2, 0, 0]
    return probs, labels


def _batch(*clips):
    pred = _logits([c[0] for c in clips]).view(len(clips), 3, 1, 1, 4)
    label = torch.tensor([c[1] for c in clips]).view(len(clips), 1, 1, 4)
    return pred, label


def test_dice_matches_hand_computation():
    # Clip a, background excluded, voxel 2 masked:
    #   sum(y p) = 0.7 + 0.6 = 1.3, sum(y^2) = 2,
    #   sum(p^2) = (.49 + .01) + (.09 + .04) + (.36 + .09) = 1.08
    loss_a = 1 - 2 * 1.3 / (2 + 1.08 + 1e-6)
    # Clip b, uniform probabilities: sum(y p) = 2/3, sum(y^2) = 2,
    #   sum(p^2) = 4 voxels * 2 channels * 1/9 = 8/9
    loss_b = 1 - 2 * (2 / 3) / (2 + 8 / 9 + 1e-6)
    loss = VolumetricDiceLoss()
    pred, label = _batch(_clip_a())
    assert math.isclose(loss(pred, label).item(), loss_a, rel_tol=1e-9)
    pred, label = _batch(_clip_a(), _clip_b())
    assert math.isclose(
        loss(pred, label).item(), (loss_a + loss_b) / 2, rel_tol=1e-9)


def test_dice_ignored_voxels_do_not_count():
    loss = VolumetricDiceLoss()
    pred, label = _batch(_clip_a())
    base = loss(pred, label)
    changed = pred.clone()
    changed[..., 2] = torch.tensor([5., -3., 9.]).view(1, 3, 1, 1)
    assert torch.allclose(loss(changed, label), base)
    # The same voxel, annotated, changes the loss.
    label2 = label.clone()
    label2[..., 2] = 2
    assert not torch.allclose(loss(changed, label2), loss(pred, label2))


def test_dice_background_channel_excluded_or_not():
    pred, label = _batch(_clip_a())
    with_bg = VolumetricDiceLoss(exclude_background=False)(pred, label)
    # Background channel added: sum(y p) += 0.5, sum(y^2) += 1,
    # sum(p^2) += .04 + .25 + .01
    expected = 1 - 2 * 1.8 / (3 + 1.08 + 0.30 + 1e-6)
    assert math.isclose(with_bg.item(), expected, rel_tol=1e-9)


def test_dice_clip_without_labels_is_left_out():
    loss = VolumetricDiceLoss()
    pred, label = _batch(_clip_a(), _clip_b())
    label[1] = 255
    only_a = loss(*_batch(_clip_a()))
    assert torch.allclose(loss(pred, label), only_a)
    label[0] = 255
    pred.requires_grad_(True)
    empty = loss(pred, label)
    assert empty.item() == 0
    empty.backward()  # still part of the graph


def test_dice_valid_mask_and_weight():
    pred, label = _batch(_clip_a())
    label[..., 2] = 1
    mask = torch.tensor([True, True, False, True]).view(1, 1, 1, 4)
    loss = VolumetricDiceLoss(loss_weight=2.0)
    expected = 2 * (1 - 2 * 1.3 / (2 + 1.08 + 1e-6))
    assert math.isclose(
        loss(pred, label, valid_mask=mask).item(), expected, rel_tol=1e-9)


def test_dice_sigmoid_multi_hot():
    # One clip, 2 classes, 2 voxels, voxel 1 masked.
    pred = torch.tensor([[0.0, 3.0], [math.log(3), -2.0]]).view(1, 2, 1, 1, 2)
    target = torch.tensor([[1, 0], [0, 1]]).view(1, 2, 1, 1, 2)
    mask = torch.tensor([True, False]).view(1, 1, 1, 2)
    loss = VolumetricDiceLoss(use_sigmoid=True, exclude_background=False)
    # voxel 0: p = (0.5, 0.75), y = (1, 0)
    expected = 1 - 2 * 0.5 / (1 + 0.25 + 0.5625 + 1e-6)
    assert math.isclose(
        loss(pred, target, valid_mask=mask).item(), expected, rel_tol=1e-6)


def test_dice_gradient_and_registry():
    loss = MODELS.build(dict(type='VolumetricDiceLoss', loss_name='loss_x'))
    assert loss.loss_name == 'loss_x'
    pred = torch.randn(2, 4, 2, 3, 3, requires_grad=True)
    label = torch.randint(0, 4, (2, 2, 3, 3))
    loss(pred, label).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_dice_bad_inputs():
    with pytest.raises(ValueError, match='volumetric_dice_loss.py'):
        VolumetricDiceLoss(use_sigmoid=True)
    loss = VolumetricDiceLoss()
    with pytest.raises(ValueError, match='volumetric_dice_loss.py'):
        loss(torch.randn(1, 3, 2, 2, 2), torch.zeros(1, 2, 2, 3).long())
    with pytest.raises(ValueError, match='out of range'):
        loss(torch.randn(1, 3, 1, 1, 2), torch.tensor([[[[0, 7]]]]))
