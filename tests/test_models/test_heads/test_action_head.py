import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS


def _head(**kwargs):
    cfg = dict(
        type='ActionHead',
        in_channels=6,
        channels=4,
        num_classes=4,
        aspp_channels=3,
        dilations=((1, 1, 1), ))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_action_head_single_label():
    head = _head()
    logits = head(torch.randn(2, 6, 2, 5, 5))
    assert logits.shape == (2, 4, 2, 5, 5)
    gt = torch.full((2, 4, 10, 10), 255, dtype=torch.long)
    gt[:, 2] = torch.randint(0, 4, (2, 10, 10))
    losses = head.loss_by_feat(logits, gt)
    assert set(losses) == {'loss_action_ce', 'loss_action_dice', 'acc_action'}
    up = F.interpolate(logits, size=(4, 10, 10), mode='trilinear')
    assert torch.allclose(
        losses['loss_action_ce'],
        F.cross_entropy(up, gt, ignore_index=255),
        atol=1e-6)
    # A valid mask narrows the annotated voxels further.
    valid = torch.zeros(2, 4, 10, 10, dtype=torch.bool)
    valid[:, 2, :5] = True
    masked = head.loss_by_feat(logits, gt, valid)
    gt_masked = gt.masked_fill(~valid, 255)
    assert torch.allclose(
        masked['loss_action_ce'],
        F.cross_entropy(up, gt_masked, ignore_index=255),
        atol=1e-6)


def test_action_head_multi_label():
    head = _head(num_classes=3, multi_label=True)
    logits = head(torch.randn(2, 6, 2, 5, 5))
    assert logits.shape == (2, 3, 2, 5, 5)
    gt = (torch.rand(2, 4, 3, 10, 10) > 0.8).to(torch.uint8)  # (N,T,A,H,W)
    valid = torch.zeros(2, 4, 10, 10, dtype=torch.bool)
    valid[:, 1] = True
    losses = head.loss_by_feat(logits, gt, valid)
    assert set(losses) == {'loss_action_bce'}
    assert torch.isfinite(losses['loss_action_bce'])
    # Unannotated frames do not count.
    gt2 = gt.clone()
    gt2[:, 0] = 1 - gt2[:, 0]
    assert torch.allclose(
        head.loss_by_feat(logits, gt2, valid)['loss_action_bce'],
        losses['loss_action_bce'])
    losses['loss_action_bce'].backward()
    assert head.conv_seg.weight.grad.abs().sum() > 0


def test_action_head_multi_label_with_sigmoid_dice():
    head = _head(
        num_classes=3,
        multi_label=True,
        loss_decode=[
            dict(type='ClassBalancedBCELoss'),
            dict(
                type='VolumetricDiceLoss',
                use_sigmoid=True,
                exclude_background=False)
        ])
    logits = head(torch.randn(1, 6, 2, 5, 5))
    gt = (torch.rand(1, 2, 3, 5, 5) > 0.5).to(torch.uint8)
    losses = head.loss_by_feat(logits, gt)
    assert set(losses) == {'loss_action_bce', 'loss_action_dice'}


def test_action_head_errors():
    with pytest.raises(ValueError, match='action_head.py'):
        _head(num_classes=1)
    head = _head()
    logits = head(torch.randn(1, 6, 2, 5, 5))
    with pytest.raises(ValueError, match='action_head.py'):
        head.loss_by_feat(logits, torch.zeros(1, 2, 4, 5, 5).long())
    multi = _head(multi_label=True)
    with pytest.raises(ValueError, match='action_head.py'):
        multi.loss_by_feat(logits, torch.zeros(1, 2, 5, 5).long())
