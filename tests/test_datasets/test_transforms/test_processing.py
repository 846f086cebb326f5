import copy

import numpy as np
import pytest
from mmcv.transforms import Compose

from ssa2d_mm.datasets.transforms import (ClipSegCenterCrop, ClipSegFlip,
                                          ClipSegRandomCrop, ClipSegResize)
from ssa2d_mm.datasets.transforms.processing import resize_label_map

RED = np.array([255, 0, 0], dtype=np.uint8)


def make_clip(t=4, h=24, w=32, marker=(5, 7), flow=True, seed=0):
    """A clip whose frame 1 has one red pixel labelled actor 5, action 3."""
    rng = np.random.default_rng(seed)
    imgs = [rng.integers(0, 100, (h, w, 3), dtype=np.uint8) for _ in range(t)]
    actor = np.zeros((t, h, w), np.int64)
    action = np.zeros((t, h, w), np.int64)
    actor[[0, 2, 3]] = 255  # only frame 1 is annotated, as in A2D
    action[[0, 2, 3]] = 255
    y, x = marker
    imgs[1][y, x] = RED
    actor[1, y, x] = 5
    action[1, y, x] = 3
    results = dict(
        imgs=imgs,
        gt_actor_seg=actor,
        gt_action_seg=action,
        img_shape=(h, w),
        ori_shape=(h, w),
        label_frame_index=1)
    if flow:
        fl = np.zeros((h, w, 2), np.float32)
        fl[..., 0] = 2.0
        fl[..., 1] = -1.0
        fl[y, x] = (4.0, 3.0)
        results['flow_imgs'] = [fl.copy() for _ in range(t)]
    return results


def red_position(img):
    ys, xs = np.nonzero(np.all(img == RED, axis=-1))
    assert len(ys) == 1
    return ys[0], xs[0]


def label_position(label):
    ys, xs = np.nonzero(label == 5)
    assert len(ys) == 1
    return ys[0], xs[0]


def test_flip_keeps_frames_labels_and_flow_aligned():
    results = ClipSegFlip(flip_ratio=1.0)(make_clip())
    assert results['flip'] is True
    assert results['flip_direction'] == 'horizontal'
    pos = red_position(results['imgs'][1])
    assert pos == (5, 32 - 1 - 7)
    assert label_position(results['gt_actor_seg'][1]) == pos
    assert results['gt_action_seg'][1][pos] == 3
    flow = results['flow_imgs'][1]
    # the marked vector moved with its pixel and its x component flipped sign
    np.testing.assert_allclose(flow[pos], [-4.0, 3.0])
    np.testing.assert_allclose(flow[0, 0], [-2.0, -1.0])
    assert results['gt_actor_seg'].flags['C_CONTIGUOUS']
    assert results['ori_shape'] == (24, 32)


def test_vertical_flip_negates_flow_y():
    results = ClipSegFlip(flip_ratio=1.0, direction='vertical')(make_clip())
    pos = red_position(results['imgs'][1])
    assert pos == (24 - 1 - 5, 7)
    assert label_position(results['gt_actor_seg'][1]) == pos
    np.testing.assert_allclose(results['flow_imgs'][1][pos], [4.0, -3.0])


def test_no_flip_leaves_clip_untouched():
    clip = make_clip()
    results = ClipSegFlip(flip_ratio=0.0)(copy.deepcopy(clip))
    assert results['flip'] is False
    np.testing.assert_array_equal(results['gt_actor_seg'],
                                  clip['gt_actor_seg'])
    np.testing.assert_array_equal(results['imgs'][1], clip['imgs'][1])
    with pytest.raises(ValueError):
        ClipSegFlip(direction='diagonal')


def test_random_crop_keeps_alignment_and_records_bbox():
    np.random.seed(0)
    crop = ClipSegRandomCrop(size=(16, 12), seg_keys=('extra_seg', ))
    for _ in range(10):
        clip = make_clip(marker=(10, 14))
        clip['extra_seg'] = clip['gt_actor_seg'].copy()
        results = crop(clip)
        x1, y1, x2, y2 = results['crop_bbox']
        assert (x2 - x1, y2 - y1) == (16, 12)
        assert results['img_shape'] == (12, 16)
        assert results['imgs'][0].shape == (12, 16, 3)
        assert results['gt_actor_seg'].shape == (4, 12, 16)
        assert results['extra_seg'].shape == (4, 12, 16)
        assert results['flow_imgs'][0].shape == (12, 16, 2)
        inside = y1 <= 10 < y2 and x1 <= 14 < x2
        if inside:
            pos = red_position(results['imgs'][1])
            assert pos == (10 - y1, 14 - x1)
            assert label_position(results['gt_actor_seg'][1]) == pos
            assert label_position(results['extra_seg'][1]) == pos
        else:
            assert not np.any(results['gt_actor_seg'] == 5)
        assert results['ori_shape'] == (24, 32)


def test_random_crop_prefers_foreground():
    np.random.seed(1)
    crop = ClipSegRandomCrop(size=8, fg_attempts=500)
    for _ in range(10):
        results = crop(make_clip(marker=(3, 3)))
        assert np.any(results['gt_actor_seg'] == 5)


def test_crop_errors():
    with pytest.raises(ValueError, match='larger than the frames'):
        ClipSegRandomCrop(size=64)(make_clip())
    with pytest.raises(TypeError):
        ClipSegCenterCrop(crop_size=(8, 0))
    clip = make_clip()
    clip['gt_actor_seg'] = clip['gt_actor_seg'][:, :10]
    with pytest.raises(ValueError, match='gt_actor_seg'):
        ClipSegCenterCrop(crop_size=8)(clip)


def test_center_crop():
    results = ClipSegCenterCrop(crop_size=(20, 10))(make_clip(marker=(9, 7)))
    np.testing.assert_array_equal(results['crop_bbox'], [6, 7, 26, 17])
    pos = red_position(results['imgs'][1])
    assert pos == (2, 1)
    assert label_position(results['gt_actor_seg'][1]) == pos
    np.testing.assert_allclose(results['flow_imgs'][1][pos], [4.0, 3.0])


def test_resize_uses_nearest_for_labels():
    rng = np.random.default_rng(0)
    values = np.array([0, 3, 7, 255])
    label = values[rng.integers(0, 4, (3, 13, 17))]
    multi_hot = rng.integers(0, 2, (3, 5, 13, 17)).astype(np.uint8)
    results = dict(
        imgs=[rng.integers(0, 255, (13, 17, 3), dtype=np.uint8)] * 3,
        gt_actor_seg=label,
        gt_action_seg=multi_hot,
        img_shape=(13, 17),
        ori_shape=(13, 17))
    results = ClipSegResize(scale=(29, 7), keep_ratio=False)(results)
    assert results['img_shape'] == (7, 29)
    assert results['imgs'][0].shape == (7, 29, 3)
    assert results['gt_actor_seg'].shape == (3, 7, 29)
    assert results['gt_actor_seg'].dtype == np.int64
    assert set(np.unique(results['gt_actor_seg'])) <= set(values)
    assert results['gt_action_seg'].shape == (3, 5, 7, 29)
    assert results['gt_action_seg'].dtype == np.uint8
    assert set(np.unique(results['gt_action_seg'])) <= {0, 1}
    assert results['ori_shape'] == (13, 17)


def test_resize_aligns_labels_with_frames():
    img = np.zeros((16, 16, 3), np.uint8)
    img[8:12, 4:8] = 200
    label = np.zeros((1, 16, 16), np.int64)
    label[0, 8:12, 4:8] = 5
    results = ClipSegResize(
        scale=(32, 32), keep_ratio=False)(
            dict(imgs=[img], gt_actor_seg=label, img_shape=(16, 16)))
    up_label = results['gt_actor_seg'][0]
    up_img = results['imgs'][0]
    np.testing.assert_array_equal(np.argwhere(up_label == 5).min(0), [16, 8])
    np.testing.assert_array_equal(np.argwhere(up_label == 5).max(0), [23, 15])
    # bilinear frames are exactly the colour inside the labelled block
    assert np.all(up_img[17:23, 9:15] == 200)
    assert np.all(up_img[up_label == 0][:, 0] < 200)


def test_resize_keep_ratio_short_side_and_flow_scaling():
    results = ClipSegResize(scale=(-1, 16))(make_clip())
    assert results['img_shape'] == (16, 21)
    assert results['keep_ratio'] is True
    assert results['gt_actor_seg'].shape == (4, 16, 21)
    flow = results['flow_imgs'][0]
    assert flow.shape == (16, 21, 2) and flow.dtype == np.float32
    # a uniform flow of (2, -1) px becomes (2 * 21/32, -1 * 16/24) px
    np.testing.assert_allclose(
        flow[-1, -1], [2 * 21 / 32, -16 / 24], rtol=1e-5)
    assert results['ori_shape'] == (24, 32)


def test_resize_label_map_identity():
    label = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(resize_label_map(label, (3, 4)), label)
    np.testing.assert_array_equal(
        resize_label_map(label, (6, 8))[::2, ::2], label)


def test_pipeline_with_mmaction_color_jitter():
    np.random.seed(0)
    pipeline = Compose([
        dict(type='ClipSegResize', scale=(-1, 20)),
        dict(type='ClipSegRandomCrop', size=16),
        dict(type='ClipSegFlip', flip_ratio=0.5),
        # hue=0: mmaction 1.2.0's adjust_hue overflows uint8 under numpy 2
        # for negative hue offsets (reported to the lead, compat layer).
        dict(type='ColorJitter', brightness=0.4, contrast=0.4, hue=0),
        dict(type='PackActorActionInputs'),
    ])
    clip = make_clip()
    packed = pipeline(copy.deepcopy(clip))
    assert packed['inputs']['imgs'].shape == (3, 4, 16, 16)
    sample = packed['data_samples']
    assert sample.gt_actor_seg.shape == (4, 16, 16)
    assert set(sample.gt_actor_seg.unique().tolist()) <= {0, 5, 255}
    # ColorJitter changed the frames but no label
    jittered = Compose(
        [dict(type='ColorJitter', brightness=(1.5, 1.5), hue=0)])(
            copy.deepcopy(clip))
    assert not np.array_equal(jittered['imgs'][0], clip['imgs'][0])
    np.testing.assert_array_equal(jittered['gt_actor_seg'],
                                  clip['gt_actor_seg'])
    np.testing.assert_array_equal(jittered['flow_imgs'][0],
                                  clip['flow_imgs'][0])


def test_seg_fields_listed_by_loaders_are_transformed():
    clip = make_clip(flow=False)
    clip['gt_part_seg'] = clip['gt_actor_seg'].copy()
    clip['seg_fields'] = ['gt_actor_seg', 'gt_part_seg']
    del clip['img_shape']  # taken from the frames, as mmaction does
    results = ClipSegFlip(flip_ratio=1.0)(clip)
    pos = red_position(results['imgs'][1])
    assert label_position(results['gt_part_seg'][1]) == pos
    results = ClipSegCenterCrop(crop_size=16)(results)
    assert results['gt_part_seg'].shape == (4, 16, 16)
