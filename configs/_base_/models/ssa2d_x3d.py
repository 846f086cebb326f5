# SSA2D on mmaction2's X3D-M: the paper model with only the backbone and the
# decoder's input swapped. X3D returns one level (1/32 of the frame size,
# time kept), so the decoder has no skip and upsamples three times to
# 16x56x56 for a 16x224x224 clip.
_base_ = ['./ssa2d_i3d.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmaction.X3D',
        gamma_w=1,
        gamma_b=2.25,
        gamma_d=2.2,
        pretrained=None),
    neck=dict(
        in_channels=(432, ),
        upsample_strides=((1, 2, 2), (1, 2, 2), (1, 2, 2)),
        # One width per stage (three stages here); the last one, the
        # decoder output the heads read, stays 192 as with I3D.
        channels=(480, 256, 192)))
