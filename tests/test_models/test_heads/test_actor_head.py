import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS


def _head(**kwargs):
    cfg = dict(
        type='ActorHead',
        in_channels=6,
        channels=4,
        num_classes=5,
        aspp_channels=3,
        dilations=((1, 1, 1), (1, 2, 2)))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _labels():
    gt = torch.full((2, 4, 12, 12), 255, dtype=torch.long)
    gt[:, 1] = 0
    gt[0, 1, 2:6, 3:9] = 3
    gt[1, 1, 5:10, 5:10] = 1
    return gt


def test_actor_head_outputs():
    head = _head()
    x = torch.randn(2, 6, 2, 6, 6)
    actor_logits, fg_logits, feats = head(x)
    assert actor_logits.shape == (2, 5, 2, 6, 6)
    assert fg_logits.shape == (2, 2, 2, 6, 6)
    assert feats.shape == (2, 4, 2, 6, 6)
    assert head.aspp.dilations == ((1, 1, 1), (1, 2, 2))


def test_actor_head_losses_named_per_branch():
    head = _head()
    actor_logits, fg_logits, _ = head(torch.randn(2, 6, 2, 6, 6))
    losses = head.loss_by_feat(actor_logits, fg_logits, _labels())
    assert set(losses) == {
        'loss_actor_ce', 'loss_actor_dice', 'loss_fg_ce', 'acc_actor', 'acc_fg'
    }
    for key, value in losses.items():
        assert torch.isfinite(value).all(), key
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert head.conv_seg.weight.grad.abs().sum() > 0
    assert head.conv_fg.weight.grad.abs().sum() > 0


def test_actor_head_logits_resized_to_labels_and_ignore_respected():
    head = _head(loss_dice=None)
    actor_logits = torch.randn(2, 5, 2, 6, 6)
    fg_logits = torch.randn(2, 2, 2, 6, 6)
    gt = _labels()
    base = head.loss_by_feat(actor_logits, fg_logits, gt)
    # Losses run on logits resized (trilinear) to the label volume, over
    # the annotated voxels only.
    up = F.interpolate(actor_logits, size=(4, 12, 12), mode='trilinear')
    expected = F.cross_entropy(up, gt, ignore_index=255)
    assert torch.allclose(base['loss_actor_ce'], expected, atol=1e-6)
    fg = (gt > 0).long().masked_fill(gt == 255, 255)
    up_fg = F.interpolate(fg_logits, size=(4, 12, 12), mode='trilinear')
    assert torch.allclose(
        base['loss_fg_ce'],
        F.cross_entropy(up_fg, fg, ignore_index=255),
        atol=1e-6)


def test_actor_head_fg_labels():
    head = _head()
    gt = torch.tensor([0, 1, 4, 255])
    assert head.fg_labels(gt).tolist() == [0, 1, 1, 255]
    with pytest.raises(ValueError, match='actor_head.py'):
        head.fg_labels(torch.tensor([0, 5]))


def test_actor_head_loss_name_collision():
    head = _head(
        loss_dice=dict(type='VolumetricDiceLoss', loss_name='loss_ce'))
    logits = head(torch.randn(2, 6, 2, 6, 6))
    with pytest.raises(ValueError, match='distinct loss_name'):
        head.loss_by_feat(logits[0], logits[1], _labels())


def test_actor_head_errors():
    with pytest.raises(ValueError, match='actor_head.py'):
        _head(num_classes=1)
    head = _head()
    with pytest.raises(ValueError, match='ActorHead'):
        head(torch.randn(1, 5, 2, 4, 4))
    logits = head(torch.randn(2, 6, 2, 6, 6))
    with pytest.raises(ValueError, match='actor_head.py'):
        head.loss_by_feat(logits[0], logits[1], _labels()[:, 0])
