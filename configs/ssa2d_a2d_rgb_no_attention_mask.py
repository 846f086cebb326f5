# Ablation (paper: 67.2 / 43.6 / 33.8): no selective attention mask; the
# action features are not gated by the foreground.
_base_ = ['./ssa2d_a2d_rgb.py']

model = dict(fusion=dict(use_attention_mask=False))
