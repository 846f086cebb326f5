import math

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS

from ssa2d_mm.models.backbones import InceptionI3D, to_pytorch_i3d
from ssa2d_mm.models.backbones.inception_i3d import Unit3D, tf_same_pad

SSA2D_ENDPOINTS = ('Conv3d_2c_3x3', 'Mixed_3c', 'Mixed_5b')


def _tf_same_output_and_pads(size, k, s):
    """TensorFlow's definition of SAME padding (nn_ops.py), written apart
    from the implementation under test."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def test_ssa2d_configuration_full_size_shapes():
    model = InceptionI3D(
        in_channels=3,
        final_endpoint='Mixed_5b',
        remove_pool5=True,
        out_endpoints=SSA2D_ENDPOINTS).eval()
    assert model.out_channels == (192, 480, 832)
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 16, 224, 224))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(1, 192, 8, 56, 56),
                                              (1, 480, 8, 28, 28),
                                              (1, 832, 4, 14, 14)]


@pytest.mark.parametrize('size', [1, 4, 5, 7, 8, 16, 17, 32, 33])
@pytest.mark.parametrize('k,s', [(7, 2), (3, 1), (3, 2), (2, 2), (1, 1),
                                 (1, 2)])
def test_tf_same_pad_matches_tensorflow(size, k, s):
    x = torch.arange(size, dtype=torch.float32).view(1, 1, size, 1, 1) + 1
    padded = tf_same_pad(x, (k, 1, 1), (s, 1, 1))
    out, before, after = _tf_same_output_and_pads(size, k, s)
    assert padded.shape[2] == size + before + after
    # the original values sit after `before` zeros
    assert torch.equal(padded[0, 0, before:before + size, 0, 0], x[0, 0, :, 0,
                                                                   0])
    assert torch.all(padded[0, 0, :before] == 0)
    assert torch.all(padded[0, 0, before + size:] == 0)
    conv_out = (padded.shape[2] - k) // s + 1
    assert conv_out == out


def test_unit_matches_conv_bn_relu_with_tf_padding():
    torch.manual_seed(0)
    unit = Unit3D(4, 6, (7, 7, 7), (2, 2, 2))
    unit.bn.running_mean.uniform_(-1, 1)
    unit.bn.running_var.uniform_(0.5, 2)
    unit.bn.weight.data.uniform_(0.5, 2)
    unit.bn.bias.data.uniform_(-1, 1)
    unit.eval()
    x = torch.randn(2, 4, 6, 9, 10)
    pads = [_tf_same_output_and_pads(n, 7, 2)[1:] for n in (6, 9, 10)]
    manual = F.pad(x, (*pads[2], *pads[1], *pads[0]))
    ref = F.conv3d(manual, unit.conv.weight, stride=2)
    ref = F.batch_norm(ref, unit.bn.running_mean, unit.bn.running_var,
                       unit.bn.weight, unit.bn.bias, False, 0., 1e-3)
    ref = F.relu(ref)
    with torch.no_grad():
        out = unit(x)
    assert out.shape == (2, 6, 3, 5, 5)
    torch.testing.assert_close(out, ref)
    assert unit.conv.bias is None
    assert unit.bn.eps == 1e-3 and unit.bn.momentum == 0.01


def _pytorch_i3d_keys(last_block):
    """pytorch-i3d's state-dict keys (piergiaj/pytorch_i3d), listed here by
    hand from its module names."""
    units = ['Conv3d_1a_7x7', 'Conv3d_2b_1x1', 'Conv3d_2c_3x3']
    blocks = [
        'Mixed_3b', 'Mixed_3c', 'Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e',
        'Mixed_4f', 'Mixed_5b', 'Mixed_5c'
    ]
    blocks = blocks[:blocks.index(last_block) + 1]
    for b in blocks:
        units += [
            f'{b}.{br}' for br in ('b0', 'b1a', 'b1b', 'b2a', 'b2b', 'b3b')
        ]
    keys = set()
    for u in units:
        keys.add(f'{u}.conv3d.weight')
        for p in ('weight', 'bias', 'running_mean', 'running_var',
                  'num_batches_tracked'):
            keys.add(f'{u}.bn.{p}')
    return keys


def test_parameter_names_map_to_pytorch_i3d():
    model = InceptionI3D(
        final_endpoint='Mixed_5c',
        remove_pool5=False,
        out_endpoints=('Mixed_5c', ))
    sd = model.state_dict()
    assert set(to_pytorch_i3d(sd)) == _pytorch_i3d_keys('Mixed_5c')
    assert 'Mixed_3b.b1a.conv.weight' in sd
    assert sd['Conv3d_1a_7x7.conv.weight'].shape == (64, 3, 7, 7, 7)
    assert sd['Mixed_3b.b1b.conv.weight'].shape == (128, 96, 3, 3, 3)
    assert sd['Mixed_4b.b0.conv.weight'].shape == (192, 480, 1, 1, 1)
    assert sd['Mixed_5c.b3b.conv.weight'].shape == (128, 832, 1, 1, 1)
    assert model.out_channels == (1024, )
    ssa2d = InceptionI3D()
    assert set(to_pytorch_i3d(ssa2d.state_dict())) == \
        _pytorch_i3d_keys('Mixed_5b')


def test_full_trunk_with_pool5_tiny_input():
    model = InceptionI3D(
        final_endpoint='Mixed_5c',
        remove_pool5=False,
        out_endpoints=('Mixed_4f', 'MaxPool3d_5a_2x2', 'Mixed_5c')).eval()
    assert model.out_channels == (832, 832, 1024)
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 8, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 832, 2, 2, 2),
                                              (1, 832, 1, 1, 1),
                                              (1, 1024, 1, 1, 1)]


def test_flow_input_and_wrong_channels():
    model = InceptionI3D(
        in_channels=2, final_endpoint='Mixed_3c',
        out_endpoints=('Mixed_3c', )).eval()
    assert model.Conv3d_1a_7x7.conv.weight.shape[1] == 2
    with torch.no_grad():
        (out, ) = model(torch.randn(2, 2, 8, 32, 32))
    assert out.shape == (2, 480, 4, 4, 4)
    with pytest.raises(ValueError, match=r'\(N, 2, T, H, W\)'):
        model(torch.randn(1, 3, 8, 32, 32))


def test_early_endpoint_only():
    model = InceptionI3D(out_endpoints=('Conv3d_1a_7x7', )).eval()
    (out, ) = model(torch.randn(1, 3, 4, 16, 16))
    assert out.shape == (1, 64, 2, 8, 8)
    assert model.out_channels == (64, )


def test_invalid_arguments():
    with pytest.raises(ValueError, match='final_endpoint'):
        InceptionI3D(final_endpoint='Logits')
    with pytest.raises(ValueError, match='not built'):
        InceptionI3D(final_endpoint='Mixed_4f', out_endpoints=('Mixed_5b', ))
    with pytest.raises(ValueError, match='not built'):
        InceptionI3D(out_endpoints=('MaxPool3d_5a_2x2', ))
    with pytest.raises(ValueError, match='network order'):
        InceptionI3D(out_endpoints=('Mixed_5b', 'Mixed_3c'))
    with pytest.raises(ValueError, match='network order'):
        InceptionI3D(out_endpoints=('Mixed_3c', 'Mixed_3c'))
    with pytest.raises(ValueError, match='remove_pool5'):
        InceptionI3D(
            final_endpoint='MaxPool3d_5a_2x2', out_endpoints=('Mixed_4f', ))
    with pytest.raises(ValueError, match='frozen_stages'):
        InceptionI3D(frozen_stages=4)
    with pytest.raises(ValueError, match='at least one'):
        InceptionI3D(out_endpoints=())


def test_frozen_stages():
    model = InceptionI3D(frozen_stages=1)
    model.train()
    for name in ('Conv3d_1a_7x7', 'Conv3d_2c_3x3', 'Mixed_3b', 'Mixed_3c'):
        module = getattr(model, name)
        assert not any(p.requires_grad for p in module.parameters()), name
        assert not any(m.training for m in module.modules()), name
    for name in ('Mixed_4b', 'Mixed_5b'):
        module = getattr(model, name)
        assert all(p.requires_grad for p in module.parameters()), name
        assert module.training and module.b0.bn.training


def test_frozen_stem_keeps_statistics():
    model = InceptionI3D(
        frozen_stages=0,
        final_endpoint='Mixed_3b',
        out_endpoints=('Mixed_3b', ))
    model.train()
    stem_mean = model.Conv3d_1a_7x7.bn.running_mean.clone()
    block_mean = model.Mixed_3b.b0.bn.running_mean.clone()
    model(torch.randn(2, 3, 4, 16, 16))
    assert torch.equal(model.Conv3d_1a_7x7.bn.running_mean, stem_mean)
    assert not torch.equal(model.Mixed_3b.b0.bn.running_mean, block_mean)


def test_norm_eval():
    model = InceptionI3D(
        norm_eval=True,
        final_endpoint='Mixed_3b',
        out_endpoints=('Mixed_3b', ))
    model.train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bns and not any(m.training for m in bns)
    # parameters still train
    assert all(p.requires_grad for p in model.parameters())


def test_build_from_registry_with_norm_cfg():
    model = MODELS.build(
        dict(
            type='InceptionI3D',
            in_channels=3,
            final_endpoint='Mixed_5b',
            remove_pool5=True,
            out_endpoints=list(SSA2D_ENDPOINTS),
            norm_cfg=dict(type='BN3d', eps=1e-5, requires_grad=False)))
    assert isinstance(model, InceptionI3D)
    assert model.out_channels == (192, 480, 832)
    assert model.Mixed_5b.b2b.bn.eps == 1e-5
    assert not model.Mixed_5b.b2b.bn.weight.requires_grad
    assert model.Mixed_5b.b2b.conv.weight.requires_grad
