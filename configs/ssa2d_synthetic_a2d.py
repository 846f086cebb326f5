# The README's first job: SSA2D trained and tested on the synthetic A2D-format
# set that tools/data/make_synthetic_a2d.py writes (the same files, formats
# and evaluation protocol as A2D), sized to finish on 2 CPU cores in minutes:
# 8-frame clips at 80 x 64, a small R18 SlowOnly encoder from mmaction2
# (backbone mixing, as in ssa2d_a2d_rgb_r50_slowonly.py), a narrow decoder and
# heads. Heads, fusion, losses, metric and pipeline order are SSA2D's.
_base_ = ['./ssa2d_a2d_rgb.py']

data_root = 'data/synthetic_a2d/Release'
clip_len = 8
frame_interval = 2
input_size = (80, 64)  # (w, h); the synthetic videos are 128 x 96

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmaction.ResNet3dSlowOnly',
        depth=18,
        base_channels=16,
        inflate=(1, 1, 1, 1),
        out_indices=(0, 1, 2, 3),
        pretrained=None),
    neck=dict(
        in_channels=(16, 32, 64, 128),
        upsample_strides=((1, 2, 2), (1, 2, 2), (1, 2, 2)),
        channels=(64, 48, 32),
        context_cfg=dict(channels=64)),
    actor_head=dict(
        in_channels=32, channels=32, dilations=((1, 1, 1), (1, 2, 2))),
    fusion=dict(decoder_channels=32, actor_channels=32),
    action_head=dict(
        in_channels=64, channels=32, dilations=((1, 1, 1), (1, 2, 2))))

train_pipeline = [
    dict(type='VideoInit'),
    dict(
        type='SampleAnnotatedClip',
        clip_len=clip_len,
        frame_interval=frame_interval),
    dict(type='VideoDecode'),
    dict(type='LoadA2DAnnotation'),
    dict(type='ClipSegResize', scale=input_size, keep_ratio=False),
    dict(type='ClipSegFlip', flip_ratio=0.5),
    dict(type='PackActorActionInputs')
]
test_pipeline = [
    dict(type='VideoInit'),
    dict(
        type='SampleAnnotatedClip',
        clip_len=clip_len,
        frame_interval=frame_interval),
    dict(type='VideoDecode'),
    dict(type='ClipSegResize', scale=input_size, keep_ratio=False),
    dict(type='LoadA2DAnnotation'),
    dict(type='PackActorActionInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
# tools/run_synthetic.sh tests the final checkpoint: no validation pass.
val_dataloader = None
val_cfg = None
val_evaluator = None

max_epochs = 9
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs + 1)
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(save_best=None))
randomness = dict(seed=0)
