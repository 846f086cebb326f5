# SSA2D, RGB + optical flow, on A2D (paper: 67.5 / 51.3 / 39.5 mIoU actor /
# action / joint). Two I3D streams; their levels are summed before the
# decoder (`stream_fusion='concat'` concatenates instead). Flow comes from
#   python tools/data/extract_flow.py --data-root data/a2d/Release \
#       --out data/a2d/Release/flow --method tvl1 --workers 8
# (mmaction's flow_x/flow_y_%05d.jpg frames, bound 20 px).
_base_ = ['./ssa2d_a2d_rgb.py']

data_root = 'data/a2d/Release'
flow_root = data_root + '/flow'
flow_bound = 20.0

model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type='MultiModalDataPreprocessor',
        preprocessors=dict(
            imgs=dict(
                type='ActionDataPreprocessor',
                mean=[127.5, 127.5, 127.5],
                std=[127.5, 127.5, 127.5],
                format_shape='NCTHW'),
            # Flow in pixels -> [-1, 1], as the I3D flow stream expects.
            flow=dict(
                type='ActionDataPreprocessor',
                mean=[0.0, 0.0],
                std=[flow_bound, flow_bound],
                format_shape='NCTHW'))),
    flow_backbone=dict(
        type='InceptionI3D',
        in_channels=2,
        final_endpoint='Mixed_5b',
        remove_pool5=True,
        out_endpoints=('Conv3d_2c_3x3', 'Mixed_3c', 'Mixed_5b'),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/i3d_flow_imagenet_kinetics.pth')),
    stream_fusion='sum')

clip_len = 16
input_size = (224, 224)
train_pipeline = [
    dict(type='VideoInit'),
    dict(type='SampleAnnotatedClip', clip_len=clip_len, frame_interval=1),
    dict(type='VideoDecode'),
    dict(type='LoadFlowClip', flow_root=flow_root),
    dict(type='LoadA2DAnnotation'),
    dict(type='ClipSegResize', scale=input_size, keep_ratio=False),
    dict(type='ClipSegFlip', flip_ratio=0.5),
    dict(type='PackActorActionInputs')
]
test_pipeline = [
    dict(type='VideoInit'),
    dict(type='SampleAnnotatedClip', clip_len=clip_len, frame_interval=1),
    dict(type='VideoDecode'),
    dict(type='LoadFlowClip', flow_root=flow_root),
    dict(type='ClipSegResize', scale=input_size, keep_ratio=False),
    dict(type='LoadA2DAnnotation'),
    dict(type='PackActorActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
