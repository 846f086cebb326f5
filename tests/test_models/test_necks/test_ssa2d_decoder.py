import pytest
import torch
from mmaction.registry import MODELS

from ssa2d_mm.models.necks import SSA2DDecoder


def _i3d_like(n=1, size=64):
    # InceptionI3D on (N, 3, 16, size, size) (channels scaled down):
    # Conv3d_2c (T/2, H/4), Mixed_3c (T/2, H/8), Mixed_5b (T/4, H/16), with
    # TF SAME rounding (ceil).
    s = [-(-size // 4), -(-size // 8), -(-size // 16)]
    return (torch.randn(n, 6, 8, s[0],
                        s[0]), torch.randn(n, 10, 8, s[1], s[1]),
            torch.randn(n, 12, 4, s[2], s[2]))


def test_decoder_i3d_like():
    dec = SSA2DDecoder(
        in_channels=(6, 10, 12),
        channels=(10, 6),
        upsample_strides=((2, 2, 2), (1, 2, 2)),
        context_cfg=dict(channels=8))
    assert dec.out_channels == 6
    out = dec(_i3d_like(2))
    assert out.shape == (2, 6, 8, 16, 16)
    # Paper-sized I3D levels at 16x224x224, channels scaled down.
    feats = (torch.randn(1, 4, 8, 56,
                         56), torch.randn(1, 5, 8, 28,
                                          28), torch.randn(1, 6, 4, 14, 14))
    dec = SSA2DDecoder((4, 5, 6), (5, 4), context_cfg=dict(channels=4))
    assert dec(feats).shape == (1, 4, 8, 56, 56)


def test_decoder_odd_sizes_are_resized_to_the_skip():
    # 200x200: Conv3d_2c 50, Mixed_3c 25, Mixed_5b 13 -> upsampled 26 != 25.
    dec = SSA2DDecoder((6, 10, 12), (10, 6), context_cfg=None)
    out = dec(_i3d_like(1, 200))
    assert out.shape == (1, 6, 8, 50, 50)


def test_decoder_context_is_reduction_plus_non_local():
    dec = SSA2DDecoder((6, 10, 12), (10, 6), context_cfg=dict(channels=8))
    assert dec.context.in_channels == 8 and dec.context.inter_channels == 8
    assert dec.context.mode == 'embedded_gaussian'
    x = torch.randn(1, 12, 4, 4, 4)
    r = dec.context_reduction(x)
    # conv_out starts at zero: the block starts as the identity on r ...
    assert torch.allclose(dec.context(r), r)
    # ... and adds the non-local response once trained.
    torch.nn.init.normal_(dec.context.conv_out.conv.weight)
    y = dec.context(r)
    assert not torch.allclose(y, r)


def _slowonly(size=36):
    backbone = MODELS.build(
        dict(
            type='ResNet3dSlowOnly',
            depth=18,
            base_channels=4,
            out_indices=(0, 1, 2, 3),
            pretrained=None))
    return backbone(torch.randn(1, 3, 4, size, size))


def test_decoder_slowonly_like():
    feats = _slowonly(64)
    assert [f.shape[1] for f in feats] == [4, 8, 16, 32]
    dec = SSA2DDecoder((4, 8, 16, 32), (16, 8, 6),
                       upsample_strides=((1, 2, 2), ) * 3,
                       context_cfg=dict(channels=12))
    assert dec(feats).shape == (1, 6, 4, 16, 16)
    # Odd frame size: levels 9, 5, 3, 2 -> every stage resizes to its skip.
    feats = _slowonly(36)
    assert [f.shape[-1] for f in feats] == [9, 5, 3, 2]
    assert dec(feats).shape == (1, 6, 4, 9, 9)


def test_decoder_x3d_like_single_level():
    backbone = MODELS.build(
        dict(
            type='X3D', gamma_w=0.1, gamma_b=0.5, gamma_d=0.3,
            pretrained=None))
    feat = backbone(torch.randn(1, 3, 4, 64, 64))
    assert feat.shape == (1, 32, 4, 2, 2)
    # No upsampling: the single level, through the context.
    dec = SSA2DDecoder((32, ), (),
                       upsample_strides=(),
                       context_cfg=dict(channels=8))
    assert dec.out_channels == 8
    assert dec(feat).shape == (1, 8, 4, 2, 2)
    # Extra stages without skips: x4 then x2 in space.
    dec = SSA2DDecoder((32, ), (8, 6),
                       upsample_strides=((1, 4, 4), (1, 2, 2)),
                       context_cfg=None)
    assert dec(feat).shape == (1, 6, 4, 16, 16)
    assert dec(feat).shape == dec((feat, )).shape


def test_decoder_errors():
    with pytest.raises(ValueError, match='ssa2d_decoder.py'):
        SSA2DDecoder((6, 10, 12), (6, ), upsample_strides=((1, 2, 2), ))
    with pytest.raises(ValueError, match='ssa2d_decoder.py'):
        SSA2DDecoder((6, 10), (6, 4, 2))
    dec = SSA2DDecoder((6, 10, 12), (10, 6))
    with pytest.raises(ValueError, match='in_channels'):
        dec((torch.randn(1, 6, 8, 8,
                         8), torch.randn(1, 11, 8, 4,
                                         4), torch.randn(1, 12, 4, 2, 2)))
    with pytest.raises(ValueError, match='levels'):
        dec(_i3d_like()[1:])
