import pytest
import torch
from mmaction.registry import MODELS

from ssa2d_mm.models.necks import ObjectPriorFusion


def _inputs():
    dec = torch.randn(2, 4, 2, 3, 3)
    actor = torch.randn(2, 3, 2, 3, 3)
    mask = (torch.rand(2, 1, 2, 3, 3) > 0.5).float()
    mask[0, 0, 0, 0, 0], mask[0, 0, 0, 0, 1] = 0, 1
    return dec, actor, mask


def test_fusion_object_prior_and_mask():
    dec, actor, mask = _inputs()
    fusion = MODELS.build(
        dict(type='ObjectPriorFusion', decoder_channels=4, actor_channels=3))
    assert fusion.out_channels == 7
    assert len(list(fusion.parameters())) == 0
    out = fusion(dec, actor, mask)
    assert out.shape == (2, 7, 2, 3, 3)
    assert torch.equal(out, torch.cat([dec, actor], 1) * mask)
    assert (out[0, :, 0, 0, 0] == 0).all()


def test_fusion_ablation_switches_change_the_output():
    dec, actor, mask = _inputs()
    full = ObjectPriorFusion(4, 3)(dec, actor, mask)
    no_prior = ObjectPriorFusion(4, 3, use_object_prior=False)
    assert no_prior.out_channels == 4
    out = no_prior(dec, actor, mask)
    assert torch.equal(out, dec * mask)
    assert out.shape != full.shape
    no_mask = ObjectPriorFusion(4, 3, use_attention_mask=False)
    out = no_mask(dec, actor, mask)
    assert torch.equal(out, torch.cat([dec, actor], 1))
    assert not torch.equal(out, full)
    # Without the mask, no mask is needed.
    assert torch.equal(no_mask(dec, actor), out)


def test_fusion_gradient_reaches_actor_features():
    dec, actor, mask = _inputs()
    actor.requires_grad_(True)
    ObjectPriorFusion(4, 3)(dec, actor, mask).sum().backward()
    assert torch.equal(actor.grad, mask.expand_as(actor))


def test_fusion_errors():
    dec, actor, mask = _inputs()
    fusion = ObjectPriorFusion(4, 3)
    with pytest.raises(ValueError, match='object_prior_fusion.py'):
        fusion(dec, actor)
    with pytest.raises(ValueError, match='object_prior_fusion.py'):
        fusion(dec, actor, mask[:, :, :1])
    with pytest.raises(ValueError, match='object_prior_fusion.py'):
        fusion(dec, actor[:, :2], mask)
    with pytest.raises(ValueError, match='object_prior_fusion.py'):
        ObjectPriorFusion(5, 3)(dec, actor, mask)
