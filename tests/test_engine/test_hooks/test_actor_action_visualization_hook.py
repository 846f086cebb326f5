import os.path as osp
from unittest.mock import MagicMock

import mmcv
import numpy as np
import pytest
import torch
from mmaction.registry import HOOKS, VISUALIZERS
from mmengine.visualization import Visualizer

from ssa2d_mm.datasets.a2d_labels import COLORS
from ssa2d_mm.structures import ActorActionDataSample

T, H, W = 4, 8, 12  # original frames; the pipeline resized them to 2x


def fake_batch():
    """Two clips as the dataloader collates them (uint8 (C, T, 2H, 2W))
    and the model's outputs (predictions at the original size)."""
    inputs, outputs = [], []
    for i, (vid, fid, t) in enumerate(
        (('-vid_one', 7, 1), ('vid_two', 12, 3))):
        clip = torch.full((3, T, 2 * H, 2 * W), 30, dtype=torch.uint8)
        clip[:, t] = 100 + 50 * i  # the annotated frame
        inputs.append(clip)
        sample = ActorActionDataSample(
            metainfo=dict(
                video_id=vid,
                frame_id=fid,
                label_frame_index=t,
                ori_shape=(H, W),
                img_shape=(2 * H, 2 * W)))
        gt_actor = torch.full((T, 2 * H, 2 * W), 255, dtype=torch.long)
        gt_action = torch.full((T, 2 * H, 2 * W), 255, dtype=torch.long)
        gt_actor[t], gt_action[t] = 0, 0
        gt_actor[t, :, :8], gt_action[t, :, :8] = 1, 8  # adult-walking
        pred_actor = torch.zeros((T, H, W), dtype=torch.long)
        pred_action = torch.zeros((T, H, W), dtype=torch.long)
        pred_actor[t, :, :4], pred_action[t, :, :4] = 7, 9  # dog-none
        sample.gt_actor_seg, sample.gt_action_seg = gt_actor, gt_action
        sample.pred_actor_seg, sample.pred_action_seg = pred_actor, \
            pred_action
        outputs.append(sample)
    return dict(inputs=inputs, data_samples=outputs), outputs


def expected(value, jid):
    return np.rint(0.5 * value + 0.5 * np.asarray(COLORS[jid])).astype(
        np.uint8)


def test_hook_writes_gt_and_pred_panels(tmp_path):
    VISUALIZERS.build(
        dict(
            type='ActorActionVisualizer',
            name='hook_vis',
            draw_legend=False,
            draw_contours=False))
    hook = HOOKS.build(
        dict(
            type='ActorActionVisualizationHook',
            draw=True,
            interval=1,
            out_dir=str(tmp_path)))
    data_batch, outputs = fake_batch()
    hook.after_test_iter(MagicMock(iter=0), 0, data_batch, outputs)

    for (vid, fid), value in ((('-vid_one', 7), 100), (('vid_two', 12), 150)):
        path = osp.join(tmp_path, vid, f'{fid:05d}.png')
        drawn = mmcv.imread(path, channel_order='rgb')
        assert drawn.shape == (H, 2 * W, 3)  # gt | pred, original size
        # The annotated frame, resized back to ori_shape, under the labels.
        np.testing.assert_array_equal(drawn[2, 1], expected(value, 18))
        np.testing.assert_array_equal(drawn[2, 6], [value] * 3)
        np.testing.assert_array_equal(drawn[2, W + 1], expected(value, 79))
        np.testing.assert_array_equal(drawn[2, W + 6], [value] * 3)


def test_hook_interval_draw_flag_and_visualizer_type(tmp_path):
    VISUALIZERS.build(
        dict(type='ActorActionVisualizer', name='hook_vis_interval'))
    data_batch, outputs = fake_batch()
    hook = HOOKS.build(
        dict(
            type='ActorActionVisualizationHook',
            draw=True,
            interval=2,
            out_dir=str(tmp_path / 'every2')))
    hook.after_val_iter(MagicMock(iter=5), 0, data_batch, outputs)
    assert osp.isfile(tmp_path / 'every2' / '-vid_one' / '00007.png')
    assert not osp.exists(tmp_path / 'every2' / 'vid_two')

    hook = HOOKS.build(
        dict(
            type='ActorActionVisualizationHook',
            out_dir=str(tmp_path / 'off')))
    hook.after_test_iter(MagicMock(iter=0), 0, data_batch, outputs)
    assert not osp.exists(tmp_path / 'off')

    Visualizer.get_instance('hook_plain_vis')
    hook = HOOKS.build(dict(type='ActorActionVisualizationHook', draw=True))
    with pytest.raises(TypeError, match='ActorActionVisualizer'):
        hook.after_test_iter(MagicMock(iter=0), 0, data_batch, outputs)
    with pytest.raises(ValueError, match='interval'):
        HOOKS.build(dict(type='ActorActionVisualizationHook', interval=0))
