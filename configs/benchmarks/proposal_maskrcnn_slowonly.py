# The proposal-based baseline of the benchmarks (docs/benchmark.md): mmdet's
# Mask R-CNN R50-FPN per frame (exactly `num_actors` detections) + mmaction2's
# AVA RoI action head on SlowOnly R50 clip features. Untrained weights: it
# measures cost only. Needs mmdet and full mmcv (compiled RoIAlign / NMS).
default_scope = 'mmaction'
custom_imports = dict(
    imports=['ssa2d_mm', 'ssa2d_mm.benchmarks'], allow_failed_imports=False)

model = dict(
    type='ProposalActorActionPipeline',
    num_actors=16,
    detector='mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    action_detector='mmaction::detection/slowonly/slowonly_kinetics400-'
    'pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py',
    num_actor_classes=8,
    num_action_classes=10)
