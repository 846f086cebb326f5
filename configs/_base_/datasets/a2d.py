# A2D (Xu et al., CVPR 2015) as it unpacks: Release/{videoset.csv,
# clips320H, Annotations/mat}. One sample per annotated frame: a clip of
# `clip_len` frames centred on it; only that frame carries labels.
dataset_type = 'A2DDataset'
data_root = 'data/a2d/Release'
clip_len = 16
frame_interval = 1
input_size = (224, 224)  # (w, h), the paper's 224 x 224

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
# Labels are loaded after the resize, so they stay at the original frame
# size: the A2D protocol scores full-resolution label maps.
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
    batch_size=6,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='videoset.csv',
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='videoset.csv',
        split='test',
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='ActorActionMetric', mode='a2d')
test_evaluator = val_evaluator
