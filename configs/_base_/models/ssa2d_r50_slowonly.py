# SSA2D on mmaction2's SlowOnly ResNet-50: the paper model with only the
# backbone and the decoder's input levels swapped. SlowOnly keeps the time
# axis; its four stages run at 1/4 .. 1/32 of the frame size, so the decoder
# goes back up through three skips to 16x56x56 for a 16x224x224 clip.
_base_ = ['./ssa2d_i3d.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmaction.ResNet3dSlowOnly',
        depth=50,
        out_indices=(0, 1, 2, 3),
        pretrained=None),
    neck=dict(
        in_channels=(256, 512, 1024, 2048),
        # Decoding order: res5 -> res4 -> res3 -> res2, space x2 each.
        upsample_strides=((1, 2, 2), (1, 2, 2), (1, 2, 2)),
        # One width per stage (three stages here); the last one, the
        # decoder output the heads read, stays 192 as with I3D.
        channels=(480, 256, 192)))
