# Ablation (paper: 65.7 / 40.9 / 32.1): the action branch does not receive
# the actor branch's features.
_base_ = ['./ssa2d_a2d_rgb.py']

model = dict(
    fusion=dict(use_object_prior=False),
    action_head=dict(in_channels=192))
