# Backbone mixing: mmaction2's ResNet3dSlowOnly (R50) replaces the I3D
# encoder; only the backbone and the decoder's levels change. Load
# Kinetics weights with --cfg-options model.backbone.pretrained=<ckpt>.
_base_ = [
    '_base_/models/ssa2d_r50_slowonly.py', '_base_/datasets/a2d.py',
    '_base_/schedules/adam_amsgrad_1e-3.py', '_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=dict(save_best='joint_miou', rule='greater'))
