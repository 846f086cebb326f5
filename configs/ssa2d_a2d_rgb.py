# SSA2D, RGB, on A2D: the paper's setting (Rana & Rawat, WACV 2021, Table 1:
# actor / action / joint mIoU 67.5 / 46.5 / 34.6). 16 x 224 x 224 clips,
# Inception I3D encoder from ImageNet + Kinetics-400, batch 6, Adam (amsgrad)
# lr 1e-3, horizontal flip.
_base_ = [
    '_base_/models/ssa2d_i3d.py', '_base_/datasets/a2d.py',
    '_base_/schedules/adam_amsgrad_1e-3.py', '_base_/default_runtime.py'
]

# Kinetics-pretrained I3D converted by
#   python tools/model_converters/convert_i3d.py rgb_imagenet.pt \
#       checkpoints/i3d_rgb_imagenet_kinetics.pth
# (pytorch-i3d state dict or the Keras *_no_top.h5). Training without it
# starts from scratch: --cfg-options model.backbone.init_cfg=None
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/i3d_rgb_imagenet_kinetics.pth')))

default_hooks = dict(checkpoint=dict(save_best='joint_miou', rule='greater'))
