# SSA2D on VidOR (Shang et al. 2019; paper: actor 5.1, action 7.9, joint 2.1
# mIoU). Labels are rasterised from boxes: actor = the subject's category
# (80 + background), actions = multi-hot predicates of the relations whose
# subject is that box on that frame (sigmoid head, class-balanced BCE).
_base_ = [
    '_base_/models/ssa2d_i3d.py', '_base_/schedules/adam_amsgrad_1e-3.py',
    '_base_/default_runtime.py'
]

dataset_type = 'VidORDataset'
data_root = 'data/vidor'
clip_len = 16
frame_interval = 2  # the authors' code samples VidOR with stride 1 or 2
input_size = (224, 224)
num_actions = 50  # 42 with action_predicates_only=True

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/i3d_rgb_imagenet_kinetics.pth')),
    actor_head=dict(num_classes=81),
    action_head=dict(
        num_classes=num_actions,
        multi_label=True,
        loss_decode=[dict(type='ClassBalancedBCELoss', loss_weight=1.0)]),
    test_cfg=dict(action_threshold=0.5))

train_pipeline = [
    dict(type='VideoInit'),
    dict(type='VideoDecode'),
    dict(type='LoadVidORAnnotation'),
    dict(type='ClipSegResize', scale=input_size, keep_ratio=False),
    dict(type='ClipSegFlip', flip_ratio=0.5),
    dict(type='PackActorActionInputs')
]
# Labels are drawn after the resize, at the original frame size, for the
# metric.
test_pipeline = [
    dict(type='VideoInit'),
    dict(type='VideoDecode'),
    dict(type='ClipSegResize', scale=input_size, keep_ratio=False),
    dict(type='LoadVidORAnnotation'),
    dict(type='PackActorActionInputs')
]
train_dataloader = dict(
    batch_size=6,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotation/training',
        clip_len=clip_len,
        frame_interval=frame_interval,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotation/validation',
        clip_len=clip_len,
        frame_interval=frame_interval,
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='ActorActionMetric', mode='vidor', num_actor_classes=81)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='joint_miou', rule='greater'))
