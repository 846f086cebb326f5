import mmcv
import numpy as np
import pytest
import torch
from mmaction.registry import VISUALIZERS

from ssa2d_mm.datasets.a2d_labels import COLORS
from ssa2d_mm.structures import ActorActionDataSample

H, W = 64, 96


def blend(pixel, color, alpha):
    return np.rint((1 - alpha) * np.asarray(pixel, float) +
                   alpha * np.asarray(color, float)).astype(np.uint8)


def labelled_maps():
    actor = np.zeros((H, W), np.int64)
    action = np.zeros((H, W), np.int64)
    actor[40:56, 60:91], action[40:56, 60:91] = 1, 8  # adult-walking
    actor[10:30, 50:70], action[10:30, 50:70] = 7, 9  # dog-none
    actor[60:, :4] = action[60:, :4] = 255  # ignored
    actor[50:60, 10:20] = 3  # ball without action: not an actor-action label
    return actor, action


def build(name, **kwargs):
    return VISUALIZERS.build(
        dict(type='ActorActionVisualizer', name=name, **kwargs))


def test_draw_frame_blends_table_colours():
    frame = np.random.RandomState(0).randint(0, 256, (H, W, 3), np.uint8)
    actor, action = labelled_maps()
    vis = build('vis_blend', alpha=0.6, font_size=6)
    drawn = vis.draw_frame(frame, actor, action)
    assert drawn.shape == (H, W, 3) and drawn.dtype == np.uint8
    # Interior pixels: blended with the A2D table colour.
    np.testing.assert_allclose(
        drawn[48, 75], blend(frame[48, 75], COLORS[18], 0.6), atol=1)
    np.testing.assert_allclose(
        drawn[20, 60], blend(frame[20, 60], COLORS[79], 0.6), atol=1)
    # Contours: the region's border in its full colour.
    assert tuple(drawn[40, 75]) == COLORS[18]
    # Background, ignored and half-labelled pixels keep the frame.
    for y, x in ((35, 5), (62, 1), (55, 15)):
        np.testing.assert_array_equal(drawn[y, x], frame[y, x])
    # The legend lists the labels present, in the visualizer's texts.
    assert [t.get_text()
            for t in vis.ax_save.texts] == ['adult-walking', 'dog-none']


def test_draw_frame_options_and_errors():
    frame = np.full((H, W, 3), 90, np.uint8)
    actor, action = labelled_maps()
    vis = build('vis_plain', draw_contours=False, draw_legend=False)
    drawn = vis.draw_frame(frame, actor, action)
    np.testing.assert_array_equal(drawn[40, 75], blend(90, COLORS[18], 0.5))
    np.testing.assert_array_equal(drawn[0:8, 0:40], frame[0:8, 0:40])
    assert len(vis.ax_save.texts) == 0
    with pytest.raises(ValueError, match='frame size'):
        vis.draw_frame(frame, actor[:10], action)
    with pytest.raises(ValueError, match='RGB'):
        vis.draw_frame(frame[..., 0], actor, action)
    with pytest.raises(ValueError, match='alpha'):
        build('vis_bad', alpha=2.0)


def test_draw_frame_vidor_multilabel():
    vis = build('vis_vidor', draw_contours=False, font_size=6)
    vis.dataset_meta = dict(
        actor_classes=['background', 'person', 'dog'],
        action_classes=['ride', 'watch', 'lie'],
        palette=[[0, 0, 0], [200, 10, 10], [10, 200, 10]])
    frame = np.zeros((H, W, 3), np.uint8)
    actor = np.zeros((H, W), np.int64)
    actor[10:20, 10:20] = 1
    actor[45:55, 45:55] = 2
    actions = np.zeros((3, H, W), np.uint8)
    actions[0, 10:20, 10:20] = actions[1, 10:20, 10:20] = 1
    drawn = vis.draw_frame(frame, actor, actions)
    np.testing.assert_array_equal(drawn[50, 50], blend(0, (10, 200, 10), .5))
    assert [t.get_text() for t in vis.ax_save.texts
            ] == ['person: ride, watch', 'dog: no action']


def test_add_datasample_gt_and_pred_side_by_side(tmp_path):
    T = 3
    clip = np.full((T, H, W, 3), 40, np.uint8)
    clip[1] = 200  # the annotated frame
    actor, action = labelled_maps()
    sample = ActorActionDataSample(
        metainfo=dict(label_frame_index=1, ori_shape=(H, W)))
    # Ground truth at half size (the pipeline's), prediction at full size.
    gt_actor = np.full((T, H // 2, W // 2), 255)
    gt_action = np.full((T, H // 2, W // 2), 255)
    gt_actor[1], gt_action[1] = actor[::2, ::2], action[::2, ::2]
    pred_actor = np.zeros((T, H, W), np.int64)
    pred_action = np.zeros((T, H, W), np.int64)
    pred_actor[1, 40:56, 60:91], pred_action[1, 40:56, 60:91] = 7, 7
    sample.gt_actor_seg = torch.from_numpy(gt_actor)
    sample.gt_action_seg = torch.from_numpy(gt_action)
    sample.pred_actor_seg = torch.from_numpy(pred_actor)
    sample.pred_action_seg = torch.from_numpy(pred_action)

    vis = build('vis_sample', draw_legend=False, draw_contours=False)
    out_file = str(tmp_path / 'sample.png')
    drawn = vis.add_datasample('sample', clip, sample, out_file=out_file)
    assert drawn.shape == (H, 2 * W, 3)
    saved = mmcv.imread(out_file, channel_order='rgb')
    np.testing.assert_array_equal(saved, drawn)
    # Left: ground truth adult-walking on the annotated frame (value 200).
    np.testing.assert_array_equal(drawn[48, 75], blend(200, COLORS[18], .5))
    # Right: the prediction, dog-running, at the same place.
    np.testing.assert_array_equal(drawn[48, W + 75],
                                  blend(200, COLORS[77], .5))
    # Prediction only.
    drawn = vis.add_datasample(
        'sample', clip, sample, draw_gt=False, out_file=out_file)
    assert drawn.shape == (H, W, 3)
