import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmaction.registry import METRICS

from ssa2d_mm.datasets.a2d_labels import color_to_ids
from ssa2d_mm.evaluation.functional import (a2d_confusion_matrix, a2d_metrics,
                                            actor_action_to_joint,
                                            vidor_metrics, vidor_statistics)
from ssa2d_mm.structures import ActorActionDataSample

H, W, T = 8, 12, 3


def a2d_sample(seed: int, label_frame_index: int, gt_scale: int = 1):
    """One sample in dict form, as the Evaluator hands it to the metric.

    Returns the dict and the original-size (gt, pred) joint maps of the
    annotated frame. ``gt_scale`` > 1 stores the ground truth at a smaller
    (transformed) size, ``(H // s, W // s)``, by subsampling; the metric must
    resize it back (nearest, exact for a 2x block replication).
    """
    rng = np.random.RandomState(seed)
    joint_choices = np.array([0, 11, 18, 45, 79])
    h, w = H // gt_scale, W // gt_scale
    small = rng.choice(joint_choices, size=(h, w))
    gt_joint = np.kron(small, np.ones((gt_scale, gt_scale), dtype=int))
    pred_joint = rng.choice(np.array([0, 11, 14, 18, 45, 78]), size=(H, W))
    gt_actor = np.full((T, h, w), 255)
    gt_action = np.full((T, h, w), 255)
    gt_actor[label_frame_index] = small // 10
    gt_action[label_frame_index] = small % 10
    pred_actor = rng.randint(0, 8, size=(T, H, W))
    pred_action = rng.randint(0, 10, size=(T, H, W))
    pred_actor[label_frame_index] = pred_joint // 10
    pred_action[label_frame_index] = pred_joint % 10
    ds = ActorActionDataSample(
        metainfo=dict(
            video_id=f'vid{seed:08d}',
            frame_id=7 + seed,
            label_frame_index=label_frame_index,
            ori_shape=(H, W)))
    ds.gt_actor_seg = torch.from_numpy(gt_actor)
    ds.gt_action_seg = torch.from_numpy(gt_action)
    ds.pred_actor_seg = torch.from_numpy(pred_actor)
    ds.pred_action_seg = torch.from_numpy(pred_action)
    return ds.to_dict(), gt_joint, pred_joint


def test_metric_matches_functional(tmp_path):
    metric = METRICS.build(
        dict(type='ActorActionMetric', output_dir=str(tmp_path / 'out')))
    s1, gt1, pred1 = a2d_sample(1, label_frame_index=1)
    s2, gt2, pred2 = a2d_sample(2, label_frame_index=2, gt_scale=2)
    metric.process({}, [s1])
    metric.process({}, [s2])
    results = metric.evaluate(2)

    conf = a2d_confusion_matrix(gt1, pred1) + a2d_confusion_matrix(gt2, pred2)
    expected = a2d_metrics(conf)
    assert set(results) == {
        'actor_miou', 'action_miou', 'joint_miou', 'actor_acc_class',
        'action_acc_class', 'joint_acc_class', 'actor_acc_global',
        'action_acc_global', 'joint_acc_global'
    }
    for key, value in results.items():
        assert value == pytest.approx(expected[key]), key
        assert 0.0 <= value <= 1.0

    # The official form: a full-size colour PNG that decodes back.
    for sample, pred in ((s1, pred1), (s2, pred2)):
        path = osp.join(tmp_path, 'out', sample['video_id'],
                        f'{sample["frame_id"]:05d}.png')
        rgb = mmcv.imread(path, channel_order='rgb')
        assert rgb.shape == (H, W, 3)
        ids, unknown = color_to_ids(rgb)
        assert not unknown.any()
        np.testing.assert_array_equal(ids, pred)


def test_metric_prefix_and_format_only(tmp_path):
    metric = METRICS.build(
        dict(
            type='ActorActionMetric',
            prefix='a2d',
            output_dir=str(tmp_path),
            format_only=True))
    sample, _, pred = a2d_sample(3, label_frame_index=0)
    del sample['gt_actor_seg'], sample['gt_action_seg']
    metric.process({}, [sample])
    assert metric.evaluate(1) == {}
    assert osp.isfile(tmp_path / 'vid00000003' / '00010.png')

    metric = METRICS.build(dict(type='ActorActionMetric', prefix='a2d'))
    metric.process({}, [a2d_sample(3, label_frame_index=0)[0]])
    assert 'a2d/joint_miou' in metric.evaluate(1)


def test_metric_rejects_bad_inputs():
    metric = METRICS.build(dict(type='ActorActionMetric'))
    sample, _, _ = a2d_sample(4, label_frame_index=0)
    sample['pred_actor_seg'] = sample['pred_actor_seg'][:, :4]
    with pytest.raises(ValueError, match='not at the original size'):
        metric.process({}, [sample])

    sample, _, _ = a2d_sample(4, label_frame_index=0)
    sample['gt_action_seg'][0, 0, 0] = 0
    sample['gt_actor_seg'][0, 0, 0] = 3
    with pytest.raises(
            ValueError, match='vid00000004 frame 11.*actor '
            'without an action'):
        metric.process({}, [sample])
    sample, _, _ = a2d_sample(4, label_frame_index=0)
    del sample['label_frame_index']
    with pytest.raises(KeyError, match='vid00000004 frame 11.*no '
                       'label_frame_index'):
        metric.process({}, [sample])
    sample, _, _ = a2d_sample(4, label_frame_index=0)
    sample['pred_actor_seg'][0, 0, 0] = 9  # not an A2D actor
    with pytest.raises(ValueError, match='vid00000004 frame 11.*outside'):
        metric.process({}, [sample])
    assert metric.results == []
    with pytest.raises(ValueError, match="mode must be"):
        METRICS.build(dict(type='ActorActionMetric', mode='ava'))
    with pytest.raises(ValueError, match='needs output_dir'):
        METRICS.build(dict(type='ActorActionMetric', format_only=True))


def test_metric_vidor_matches_functional():
    rng = np.random.RandomState(0)
    num_actions, k = 4, 5
    metric = METRICS.build(
        dict(type='ActorActionMetric', mode='vidor', num_actor_classes=k))
    stats = []
    for i in range(2):
        gt_actor = rng.randint(0, k, size=(T, H, W))
        gt_actor[0, 0, :3] = 255
        gt_action = rng.randint(0, 2, size=(T, num_actions, H, W))
        pred_actor = rng.randint(0, k, size=(T, H, W))
        pred_action = rng.randint(0, 2, size=(T, num_actions, H, W))
        ds = ActorActionDataSample(
            metainfo=dict(
                video_id=str(i),
                frame_id=1,
                label_frame_index=i,
                ori_shape=(H, W)))
        ds.gt_actor_seg = torch.from_numpy(gt_actor)
        ds.gt_action_seg = torch.from_numpy(gt_action).to(torch.uint8)
        ds.pred_actor_seg = torch.from_numpy(pred_actor)
        ds.pred_action_seg = torch.from_numpy(pred_action).to(torch.uint8)
        metric.process({}, [ds.to_dict()])
        stats.append(
            vidor_statistics(gt_actor[i], gt_action[i], pred_actor[i],
                             pred_action[i], k))
    total = {key: stats[0][key] + stats[1][key] for key in stats[0]}
    expected = vidor_metrics(total)
    results = metric.evaluate(2)
    assert set(results) == {
        'actor_miou', 'action_miou', 'joint_miou', 'actor_acc_class',
        'actor_acc_global'
    }
    for key, value in results.items():
        assert value == pytest.approx(expected[key]), key


def test_half_labelled_prediction_is_background():
    # The model may predict an actor with a background action: the official
    # form has no colour for it, so it counts as background.
    joint = actor_action_to_joint(np.array([[1, 0]]), np.array([[0, 3]]))
    assert joint.tolist() == [[0, 0]]
