# SSA2D as published (Rana & Rawat, WACV 2021): Inception-v1 I3D (RGB, no
# MaxPool3d_5a, no Mixed_5c), non-local context on Mixed_5b, a decoder with
# U-Net skips from Mixed_3c and Conv3d_2c to 8x56x56 for a 16x224x224 clip,
# A2D-sized heads (8 actor classes, 10 action classes, background 0).
# Pixel values go to [-1, 1] as the authors' I3D expects.
model = dict(
    type='SSA2D',
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        format_shape='NCTHW'),
    backbone=dict(
        type='InceptionI3D',
        in_channels=3,
        final_endpoint='Mixed_5b',
        remove_pool5=True,
        out_endpoints=('Conv3d_2c_3x3', 'Mixed_3c', 'Mixed_5b')),
    neck=dict(
        type='SSA2DDecoder',
        in_channels=(192, 480, 832),
        # Decoding order: Mixed_5b (4x14x14) -> Mixed_3c (8x28x28) ->
        # Conv3d_2c (8x56x56).
        upsample_strides=((2, 2, 2), (1, 2, 2)),
        channels=(480, 192),
        context_cfg=dict(channels=480),
        skip_kernel_size=1),
    actor_head=dict(
        type='ActorHead',
        in_channels=192,
        channels=64,
        num_classes=8,
        dilations=((1, 3, 3), (1, 6, 6), (1, 9, 9), (1, 12, 12)),
        loss_ce=dict(
            type='mmseg.CrossEntropyLoss',
            avg_non_ignore=True,
            loss_weight=1.0),
        loss_dice=dict(type='VolumetricDiceLoss', loss_weight=1.0),
        loss_fg=dict(
            type='mmseg.CrossEntropyLoss',
            avg_non_ignore=True,
            loss_weight=1.0)),
    fusion=dict(
        type='ObjectPriorFusion',
        decoder_channels=192,
        actor_channels=64,
        use_object_prior=True,
        use_attention_mask=True),
    action_head=dict(
        type='ActionHead',
        in_channels=256,
        channels=64,
        num_classes=10,
        multi_label=False,
        dilations=((1, 3, 3), (1, 6, 6), (1, 9, 9), (1, 12, 12)),
        loss_decode=[
            dict(
                type='mmseg.CrossEntropyLoss',
                avg_non_ignore=True,
                loss_weight=1.0),
            dict(type='VolumetricDiceLoss', loss_weight=1.0)
        ]),
    train_cfg=dict(),
    test_cfg=dict(fg_threshold=0.5, joint_decoding='argmax'))
