# SSA2D's optimiser as in the authors' code: Adam (amsgrad), lr 1e-3, batch 6
# (see configs/_base_/datasets/a2d.py). The paper gives no epoch count or
# decay; 30 epochs with a x0.1 step at 20 and 27 is this project's choice.
max_epochs = 30
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-3, amsgrad=True),
    clip_grad=dict(max_norm=40, norm_type=2))

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[20, 27],
        gamma=0.1)
]

# Linear scaling from the paper's batch of 6 on one GPU (--auto-scale-lr).
auto_scale_lr = dict(enable=False, base_batch_size=6)
