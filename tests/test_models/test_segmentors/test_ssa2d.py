import copy

import pytest
import torch
from mmaction.registry import MODELS

from ssa2d_mm.datasets.a2d_labels import VALID_JOINT_IDS
from ssa2d_mm.models.segmentors import SSA2D
from ssa2d_mm.structures import ActorActionDataSample

T, H, W = 8, 32, 32


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny convolutions on a shared 2-core machine: one thread is ~20x
    # faster than oversubscribed ones.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_cfg(multi_label=False, **fusion):
    head = dict(
        aspp_channels=4, dropout_ratio=0., dilations=((1, 1, 1), (1, 2, 2)))
    return dict(
        type='SSA2D',
        backbone=dict(
            type='ResNet3dSlowOnly',
            depth=18,
            base_channels=4,
            out_indices=(0, 1, 2, 3),
            pretrained=None),
        neck=dict(
            type='SSA2DDecoder',
            in_channels=(4, 8, 16, 32),
            channels=(16, 8, 8),
            upsample_strides=((1, 2, 2), ) * 3,
            context_cfg=dict(channels=16)),
        actor_head=dict(type='ActorHead', channels=8, num_classes=8, **head),
        fusion=dict(type='ObjectPriorFusion', **fusion),
        action_head=dict(
            type='ActionHead',
            channels=8,
            num_classes=5 if multi_label else 10,
            multi_label=multi_label,
            **head))


def build(cfg=None, seed=0, **kwargs):
    torch.manual_seed(seed)
    return MODELS.build(cfg or tiny_cfg(**kwargs))


def sample(annotated=(3, ), multi_label=False, ori_shape=(H, W)):
    """A2D-like labels: only the ``annotated`` frames carry labels."""
    s = ActorActionDataSample(
        metainfo=dict(ori_shape=ori_shape, img_shape=(H, W)))
    actor = torch.full((T, H, W), 255, dtype=torch.long)
    action = torch.full((T, H, W), 255, dtype=torch.long)
    for t in annotated:
        actor[t], action[t] = 0, 0
        actor[t, 8:20, 8:20], action[t, 8:20, 8:20] = 2, 5
        actor[t, 22:30, 2:12], action[t, 22:30, 2:12] = 5, 8
    s.gt_actor_seg = actor
    if multi_label:
        multi = torch.zeros(T, 5, H, W, dtype=torch.uint8)
        multi[:, 1] = (actor == 2)
        multi[:, 3] = (actor > 0) & (actor != 255)
        s.gt_action_seg = multi
    else:
        s.gt_action_seg = action
    return s


def clip(n=1, seed=1):
    torch.manual_seed(seed)
    return torch.randn(n, 3, T, H, W)


def loss_sum(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


class FusionSpy:
    """Records the fusion's inputs and output."""

    def __init__(self, model):
        self.calls = []
        model.fusion.register_forward_hook(self._hook)

    def _hook(self, module, args, out):
        self.calls.append((args[2].detach().clone(), out.detach().clone()))


def test_default_data_preprocessor():
    model = build()
    assert type(model.data_preprocessor).__name__ == 'ActionDataPreprocessor'
    assert model.data_preprocessor.format_shape == 'NCTHW'
    assert model.fusion.out_channels == 16  # decoder 8 + actor 8
    assert model.action_head.in_channels == 16


def test_tensor_mode_returns_logits():
    model = build().eval()
    actor, fg, action = model(clip(2), mode='tensor')
    assert actor.shape == (2, 8, T, 8, 8)
    assert fg.shape == (2, 2, T, 8, 8)
    assert action.shape == (2, 10, T, 8, 8)


def test_predict_label_maps_at_original_size():
    model = build().eval()
    samples = [sample(ori_shape=(20, 28)), sample(ori_shape=(40, 36))]
    with torch.no_grad():
        out = model(clip(2), samples, mode='predict')
    assert out is samples
    for s in out:
        size = (T, *s.ori_shape)
        assert s.pred_actor_seg.shape == size
        assert s.pred_action_seg.shape == size
        assert s.pred_fg_seg.shape == size
        assert s.pred_actor_seg.dtype == torch.long
        bg = s.pred_fg_seg == 0
        assert (s.pred_actor_seg[bg] == 0).all()
        assert (s.pred_action_seg[bg] == 0).all()
        assert (s.pred_action_seg[~bg] > 0).all()  # argmax over actions
    # Without data samples: label maps at the input size.
    with torch.no_grad():
        out = model.predict(clip(1))
    assert out[0].pred_actor_seg.shape == (T, H, W)


def test_predict_crops_batch_padding():
    model = build().eval()
    s = sample()
    s.set_metainfo(dict(img_shape=(24, 32), ori_shape=(24, 32)))
    x = clip(1)
    x[..., 24:, :] = 0  # padded rows
    with torch.no_grad():
        out = model.predict(x, [s])[0]
    assert out.pred_actor_seg.shape == (T, 24, 32)


def test_loss_step_finite_with_gradients_everywhere():
    model = build()
    losses = model(clip(2), [sample(), sample((1, 6))], mode='loss')
    assert {
        'loss_actor_ce', 'loss_actor_dice', 'loss_fg_ce', 'loss_action_ce',
        'loss_action_dice'
    } <= set(losses)
    for key, value in losses.items():
        assert torch.isfinite(value).all(), key
    loss_sum(losses).backward()
    grads = {
        'backbone': model.backbone.conv1.conv.weight,
        'decoder': model.neck.up_convs[0].conv.weight,
        'context': model.neck.context.conv_out.conv.weight,
        'actor head': model.actor_head.pre_conv.conv.weight,
        'actor classifier': model.actor_head.conv_seg.weight,
        'fg classifier': model.actor_head.conv_fg.weight,
        'action head': model.action_head.pre_conv.conv.weight,
        'action classifier': model.action_head.conv_seg.weight,
    }
    for name, param in grads.items():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_action_loss_reaches_actor_head_through_object_prior():
    # The fusion has no parameters (concatenation and gating): check that
    # the action loss flows through its output into the actor branch.
    for prior in (True, False):
        model = build(use_object_prior=prior)
        losses = model(clip(), [sample()], mode='loss')
        action_loss = losses['loss_action_ce'] + losses['loss_action_dice']
        action_loss.backward()
        grad = model.actor_head.aspp.bottleneck.conv.weight.grad
        if prior:
            assert grad is not None and grad.abs().sum() > 0
        else:
            assert grad is None or grad.abs().sum() == 0


def _set_fg_bias(model, value):
    # value > 0: everything predicted foreground; < 0: background.
    with torch.no_grad():
        model.actor_head.conv_fg.weight.zero_()
        model.actor_head.conv_fg.bias.copy_(torch.tensor([0., value]))


def test_loss_mode_uses_ground_truth_mask_where_annotated():
    model = build()
    spy = FusionSpy(model)
    every_frame = sample(annotated=range(T))
    outs = []
    for bias in (20., -20.):
        _set_fg_bias(model, bias)
        torch.manual_seed(0)
        model(clip(), [every_frame], mode='loss')
        outs.append(spy.calls[-1])
    # Fully annotated clip: the gating and the gated features do not depend
    # on the predicted foreground.
    assert torch.equal(outs[0][0], outs[1][0])
    assert torch.equal(outs[0][1], outs[1][1])
    mask = outs[0][0][0, 0]  # (T, 8, 8) at stride 4
    gt = every_frame.gt_actor_seg
    assert mask[3, 3, 3] == 1 and gt[3, 12:16, 12:16].eq(2).all()
    assert mask[3, 0, 0] == 0 and gt[3, :4, :4].eq(0).all()

    # One annotated frame (A2D): the other frames take the prediction.
    one_frame = sample(annotated=(3, ))
    masks = []
    for bias in (20., -20.):
        _set_fg_bias(model, bias)
        model(clip(), [one_frame], mode='loss')
        masks.append(spy.calls[-1][0][0, 0])
    assert torch.equal(masks[0][3], masks[1][3])  # annotated frame: GT
    assert (masks[0][torch.arange(T) != 3] == 1).all()
    assert (masks[1][torch.arange(T) != 3] == 0).all()


def test_gt_mask_keeps_a_labelled_frame_when_time_shrinks():
    model = build()
    gt = torch.full((1, 16, 8, 8), 255, dtype=torch.long)
    gt[0, 5] = 0
    gt[0, 5, :4] = 3  # odd frame, top half foreground
    mask, annotated = model.gt_fg_mask(gt, (8, 4, 4))
    assert annotated[0, 0, 2].all() and not annotated[0, 0, 3].any()
    assert mask[0, 0, 2, :2].eq(1).all() and mask[0, 0, 2, 2:].eq(0).all()


def test_predict_mode_uses_predicted_mask():
    model = build().eval()
    spy = FusionSpy(model)
    _set_fg_bias(model, -20.)
    with torch.no_grad():
        out = model.predict(clip(), [sample()])[0]
    assert spy.calls[-1][0].eq(0).all() and spy.calls[-1][1].eq(0).all()
    assert out.pred_fg_seg.eq(0).all() and out.pred_actor_seg.eq(0).all()
    assert out.pred_action_seg.eq(0).all()
    _set_fg_bias(model, 20.)
    with torch.no_grad():
        out = model.predict(clip(), [sample()])[0]
    assert spy.calls[-1][0].eq(1).all() and spy.calls[-1][1].ne(0).any()
    assert out.pred_fg_seg.eq(1).all() and out.pred_action_seg.gt(0).all()


def test_attention_mask_switch():
    # With the mask, the action logits depend on the foreground head; the
    # "without attention mask" ablation cuts that dependence.
    for use_mask in (True, False):
        model = build(use_attention_mask=use_mask).eval()
        logits = []
        for bias in (20., -20.):
            _set_fg_bias(model, bias)
            with torch.no_grad():
                logits.append(model(clip())[2])
        assert torch.equal(logits[0], logits[1]) != use_mask


def test_object_prior_switch():
    # The "without object prior" ablation: the action branch no longer
    # reads the actor features.
    for prior in (True, False):
        model = build(use_object_prior=prior).eval()
        _set_fg_bias(model, 20.)
        with torch.no_grad():
            before = model(clip())[2]
            model.actor_head.aspp.bottleneck.conv.weight.mul_(-1)
            after = model(clip())[2]
        assert torch.equal(before, after) != prior


def test_valid_pairs_decoding():
    actor = torch.zeros(8, 1, 1, 1)
    actor[1], actor[4] = 0.6, 0.4  # adult, bird
    action = torch.zeros(10, 1, 1, 1)
    action[4], action[8] = 0.7, 0.3  # flying, walking
    # argmax: adult-flying (14), not a valid pair. Valid pairs:
    # bird-flying 0.4*0.7 = 0.28 > adult-walking 0.6*0.3 = 0.18.
    a, b = SSA2D._decode_valid_pairs(actor, action)
    assert (a.item(), b.item()) == (4, 4)

    cfg = tiny_cfg()
    cfg['test_cfg'] = dict(joint_decoding='valid_pairs')
    model = build(cfg).eval()
    _set_fg_bias(model, 20.)
    with torch.no_grad():
        out = model.predict(clip(), [sample()])[0]
    joint = (10 * out.pred_actor_seg + out.pred_action_seg).unique()
    assert set(joint.tolist()) <= set(VALID_JOINT_IDS)


def test_multi_label_loss_and_predict():
    model = build(multi_label=True)
    samples = [sample(multi_label=True), sample((2, 5), multi_label=True)]
    losses = model(clip(2), samples, mode='loss')
    assert 'loss_action_bce' in losses and 'loss_action_ce' not in losses
    loss_sum(losses).backward()
    assert model.action_head.conv_seg.weight.grad.abs().sum() > 0
    model.eval()
    _set_fg_bias(model, -20.)
    with torch.no_grad():
        out = model.predict(clip(2), samples)
    assert out[0].pred_action_seg.shape == (T, 5, H, W)
    assert out[0].pred_action_seg.dtype == torch.uint8
    assert out[0].pred_action_seg.eq(0).all()  # all background
    assert out[0].pred_actor_seg.shape == (T, H, W)


def test_two_streams():
    for fusion, width in (('sum', 1), ('concat', 2)):
        cfg = tiny_cfg()
        cfg['flow_backbone'] = dict(cfg['backbone'], in_channels=2)
        cfg['stream_fusion'] = fusion
        cfg['neck']['in_channels'] = tuple(width * c
                                           for c in cfg['neck']['in_channels'])
        model = build(cfg)
        torch.manual_seed(2)
        inputs = dict(imgs=clip(), flow=torch.randn(1, 2, T, H, W))
        losses = model(inputs, [sample()], mode='loss')
        loss_sum(losses).backward()
        assert model.flow_backbone.conv1.conv.weight.grad.abs().sum() > 0
        model.eval()
        with torch.no_grad():
            out = model(inputs, [sample()], mode='predict')
        assert out[0].pred_actor_seg.shape == (T, H, W)
        with pytest.raises(KeyError, match='ssa2d.py'):
            model(clip(), mode='tensor')


def test_labels_padded_like_the_inputs():
    model = build()
    small = sample()
    small.gt_actor_seg = small.gt_actor_seg[:, :24]
    small.gt_action_seg = small.gt_action_seg[:, :24]
    labels = model._stack_labels([small, sample()], 'gt_actor_seg', (T, H, W),
                                 255)
    assert labels.shape == (2, T, H, W)
    assert labels[0, :, 24:].eq(255).all()
    assert torch.equal(labels[0, :, :24], small.gt_actor_seg)
    losses = model(clip(2), [small, sample()], mode='loss')
    assert torch.isfinite(loss_sum(losses))


def test_overfits_one_clip():
    model = build()
    x, samples = clip(), [sample()]
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        total = loss_sum(model(x, samples, mode='loss'))
        first = total.item() if first is None else first
        optim.zero_grad()
        total.backward()
        optim.step()
    last = loss_sum(model(x, samples, mode='loss')).item()
    assert last < first / 5, (first, last)


def test_config_errors():
    cfg = tiny_cfg()
    cfg['actor_head']['in_channels'] = 7
    with pytest.raises(ValueError, match='actor_head.in_channels'):
        build(cfg)
    cfg = tiny_cfg()
    cfg['action_head']['in_channels'] = 8
    with pytest.raises(ValueError, match='action_head.in_channels'):
        build(cfg)
    cfg = tiny_cfg()
    cfg['test_cfg'] = dict(joint_decoding='best')
    with pytest.raises(ValueError, match='joint_decoding'):
        build(cfg)
    cfg = tiny_cfg()
    cfg['test_cfg'] = dict(fg_thr=0.5)
    with pytest.raises(ValueError, match='unknown test_cfg'):
        build(cfg)
    cfg = tiny_cfg()
    cfg['stream_fusion'] = 'max'
    with pytest.raises(ValueError, match='stream_fusion'):
        build(cfg)
    cfg = copy.deepcopy(tiny_cfg())
    cfg['action_head']['num_classes'] = 5
    cfg['test_cfg'] = dict(joint_decoding='valid_pairs')
    with pytest.raises(ValueError, match='valid_pairs'):
        build(cfg)
    model = build()
    with pytest.raises(RuntimeError, match='invalid mode'):
        model(clip(), mode='train')
    with pytest.raises(ValueError, match='ssa2d.py'):
        model(torch.randn(1, 3, H, W), mode='tensor')
    with pytest.raises(KeyError, match='gt_actor_seg'):
        model(clip(), [ActorActionDataSample()], mode='loss')
