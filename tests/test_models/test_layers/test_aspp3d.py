import pytest
import torch
from mmaction.registry import MODELS

from ssa2d_mm.models.layers import ASPP3D


def test_aspp3d_shapes_and_branches():
    aspp = ASPP3D(6, 4, out_channels=5)
    assert aspp.dilations == ((1, 3, 3), (1, 6, 6), (1, 9, 9), (1, 12, 12))
    # 1x1x1 + four dilated 3x3x3 branches, plus clip pooling.
    assert len(aspp.branches) == 5
    for branch, d in zip(aspp.branches[1:], aspp.dilations):
        assert branch.conv.dilation == d and branch.conv.padding == d
        assert branch.conv.kernel_size == (3, 3, 3)
    assert aspp.bottleneck.conv.in_channels == 6 * 4
    assert aspp.bottleneck.conv.kernel_size == (1, 1, 1)
    x = torch.randn(1, 6, 3, 7, 9)  # batch 1 trains (no BN when pooled)
    out = aspp(x)
    assert out.shape == (1, 5, 3, 7, 9)
    out.sum().backward()


def test_aspp3d_pooling_branch_sees_the_whole_clip():
    torch.manual_seed(0)
    # No activation: a ReLU could zero the compared voxel in both runs.
    aspp = ASPP3D(2, 2, dilations=((1, 1, 1), ), act_cfg=None).eval()
    x = torch.randn(1, 2, 2, 20, 20)
    y = x.clone()
    y[..., 15:, 15:] += 5.  # far beyond the receptive field of voxel (0,0)
    assert not torch.allclose(aspp(x)[..., 0, 0], aspp(y)[..., 0, 0])
    no_pool = ASPP3D(
        2, 2, dilations=((1, 1, 1), ), with_pooling=False,
        act_cfg=None).eval()
    assert torch.allclose(no_pool(x)[..., 0, 0], no_pool(y)[..., 0, 0])


def test_aspp3d_registry_and_errors():
    aspp = MODELS.build(
        dict(type='ASPP3D', in_channels=3, channels=2, dilations=(2, )))
    assert aspp.dilations == ((2, 2, 2), )
    with pytest.raises(ValueError, match='aspp3d.py'):
        ASPP3D(3, 2, dilations=((1, 2), ))
    with pytest.raises(ValueError, match='aspp3d.py'):
        aspp(torch.randn(1, 4, 2, 5, 5))
