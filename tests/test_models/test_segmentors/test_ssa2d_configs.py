"""The model configs of configs/_base_/models build and run."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmaction.registry import MODELS

from ssa2d_mm.structures import ActorActionDataSample

CONFIG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'models')
CONFIGS = ('ssa2d_i3d.py', 'ssa2d_r50_slowonly.py', 'ssa2d_x3d.py')


@pytest.fixture(autouse=True)
def _one_thread():
    # A shared 2-core machine: oversubscribed threads are much slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(name):
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(osp.join(CONFIG_DIR, name)).model)


def data(t, h, w, annotated=None):
    torch.manual_seed(1)
    s = ActorActionDataSample(
        metainfo=dict(ori_shape=(h, w), img_shape=(h, w)))
    if annotated is not None:
        actor = torch.full((t, h, w), 255, dtype=torch.long)
        actor[annotated] = 0
        actor[annotated, h // 4:h // 2, w // 4:w // 2] = 1
        action = actor.clone()
        action[actor == 1] = 8
        s.gt_actor_seg, s.gt_action_seg = actor, action
    imgs = torch.randint(0, 256, (3, t, h, w), dtype=torch.uint8)
    return dict(inputs=[imgs], data_samples=[s])


def test_configs_differ_only_in_backbone_and_decoder_levels():
    cfgs = [Config.fromfile(osp.join(CONFIG_DIR, n)).model for n in CONFIGS]
    for cfg in cfgs[1:]:
        for key in cfgs[0]:
            if key not in ('backbone', 'neck'):
                assert cfg[key] == cfgs[0][key], key
        for key in cfgs[0].neck:
            if key not in ('in_channels', 'upsample_strides', 'channels'):
                assert cfg.neck[key] == cfgs[0].neck[key], key
        assert cfg.neck.channels[-1] == cfgs[0].neck.channels[-1]


def test_i3d_paper_model_predicts_full_size_clip():
    model = build('ssa2d_i3d.py').eval()
    assert type(model.backbone).__name__ == 'InceptionI3D'
    # [-1, 1] pixels, as the authors' I3D expects.
    assert model.data_preprocessor.mean.flatten().tolist() == [127.5] * 3
    assert model.data_preprocessor.std.flatten().tolist() == [127.5] * 3
    with torch.no_grad():
        batch = model.data_preprocessor(data(16, 224, 224), False)
        assert batch['inputs'].shape == (1, 3, 16, 224, 224)
        assert batch['inputs'].min() >= -1 and batch['inputs'].max() <= 1
        shapes = []
        model.neck.register_forward_hook(
            lambda m, args, out: shapes.append(tuple(out.shape)))
        out = model(**batch, mode='predict')
    assert shapes == [(1, 192, 8, 56, 56)]  # the paper's 8x56x56 decoder
    for field in ('pred_actor_seg', 'pred_action_seg', 'pred_fg_seg'):
        assert getattr(out[0], field).shape == (16, 224, 224), field


@pytest.mark.parametrize('name', CONFIGS)
def test_config_loss_step(name):
    model = build(name).train()
    batch = model.data_preprocessor(data(16, 64, 64, annotated=7), True)
    losses = model(**batch, mode='loss')
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total)
    assert {
        'loss_actor_ce', 'loss_actor_dice', 'loss_fg_ce', 'loss_action_ce',
        'loss_action_dice'
    } <= set(losses)
    total.backward()
    for part in ('backbone', 'neck', 'actor_head', 'action_head'):
        grads = [
            p.grad.abs().sum() for p in getattr(model, part).parameters()
            if p.grad is not None
        ]
        assert grads and sum(grads) > 0, part
