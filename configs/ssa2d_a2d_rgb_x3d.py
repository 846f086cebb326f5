# Backbone mixing: mmaction2's X3D-M replaces the I3D encoder; only the
# backbone and the decoder's levels change.
_base_ = [
    '_base_/models/ssa2d_x3d.py', '_base_/datasets/a2d.py',
    '_base_/schedules/adam_amsgrad_1e-3.py', '_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=dict(save_best='joint_miou', rule='greater'))
