# Runtime shared by every SSA2D config: mmaction's default scope with the
# plugin imported, mmengine's standard hooks, atomic checkpoint writes.
default_scope = 'mmaction'
custom_imports = dict(imports=['ssa2d_mm'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Writes checkpoints and `last_checkpoint` atomically (temporary file +
    # rename) and deletes old ones only after, so a kill while saving never
    # leaves the run without a good checkpoint to --resume from.
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'),
    visualization=dict(type='ActorActionVisualizationHook', draw=False))

custom_hooks = [dict(type='BadSampleHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py switch to gloo where CUDA is absent.
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActorActionVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
