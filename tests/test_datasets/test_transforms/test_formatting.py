import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.dataset import pseudo_collate

from ssa2d_mm.datasets.transforms import PackActorActionInputs
from ssa2d_mm.structures import ActorActionDataSample


def make_results(t=4, h=8, w=12, num_actions=None, flow=False, seed=0):
    rng = np.random.default_rng(seed)
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(t)]
    imgs[0][0, 0] = 0
    imgs[0][0, 1] = 255
    results = dict(
        imgs=imgs,
        gt_actor_seg=rng.integers(0, 8, (t, h, w)),
        video_id='abc',
        frame_id=7,
        frame_inds=np.arange(3, 3 + t),
        label_frame_index=2,
        ori_shape=(h, w),
        img_shape=(h, w),
        flip=True,
        not_a_meta_key=1)
    if num_actions is None:
        results['gt_action_seg'] = rng.integers(0, 10,
                                                (t, h, w)).astype(np.int32)
    else:
        results['gt_action_seg'] = rng.integers(
            0, 2, (t, num_actions, h, w)).astype(np.uint8)
    if flow:
        results['flow_imgs'] = [
            rng.normal(size=(h, w, 2)).astype(np.float32) for _ in range(t)
        ]
    return results


def test_pack_rgb_shapes_dtypes_and_meta():
    results = make_results()
    packed = PackActorActionInputs()(results)
    inputs = packed['inputs']
    assert inputs.shape == (3, 4, 8, 12) and inputs.dtype == torch.uint8
    # channel c of frame t is imgs[t][..., c]
    np.testing.assert_array_equal(inputs[:, 2].permute(1, 2, 0).numpy(),
                                  results['imgs'][2])
    sample = packed['data_samples']
    assert isinstance(sample, ActorActionDataSample)
    assert sample.gt_actor_seg.dtype == torch.int64
    assert sample.gt_actor_seg.shape == (4, 8, 12)
    assert sample.gt_action_seg.dtype == torch.int64
    np.testing.assert_array_equal(sample.gt_action_seg.numpy(),
                                  results['gt_action_seg'])
    meta = sample.metainfo
    for key in ('video_id', 'frame_id', 'frame_inds', 'label_frame_index',
                'ori_shape', 'img_shape', 'flip'):
        assert key in meta
    assert 'not_a_meta_key' not in meta
    assert meta['frame_id'] == 7


def test_pack_multi_hot_and_flow():
    packed = PackActorActionInputs(meta_keys=('video_id', ))(
        make_results(num_actions=5, flow=True))
    inputs = packed['inputs']
    assert set(inputs) == {'imgs', 'flow'}
    assert inputs['imgs'].shape == (3, 4, 8, 12)
    assert inputs['imgs'].dtype == torch.uint8
    assert inputs['flow'].shape == (2, 4, 8, 12)
    assert inputs['flow'].dtype == torch.float32
    sample = packed['data_samples']
    assert sample.gt_action_seg.shape == (4, 5, 8, 12)
    assert sample.gt_action_seg.dtype == torch.uint8
    assert set(sample.metainfo) == {'video_id'}


def test_pack_errors():
    results = make_results()
    results['gt_actor_seg'] = results['gt_actor_seg'][:, :4]
    with pytest.raises(ValueError, match='gt_actor_seg'):
        PackActorActionInputs()(results)
    results = make_results()
    results['imgs'] = [img[..., :1] for img in results['imgs']]
    with pytest.raises(ValueError, match='imgs'):
        PackActorActionInputs()(results)


def test_pack_accepts_labels_at_original_size_only():
    # Test pipelines resize the frames, then load labels at ori_shape.
    results = make_results(h=8, w=12)
    results['imgs'] = [img[:4, :6] for img in results['imgs']]
    results['img_shape'] = (4, 6)
    packed = PackActorActionInputs()(results)
    assert tuple(packed['inputs'].shape) == (3, 4, 4, 6)
    assert tuple(packed['data_samples'].gt_actor_seg.shape) == (4, 8, 12)
    results = make_results(h=8, w=12)
    results['imgs'] = [img[:4, :6] for img in results['imgs']]
    results['ori_shape'] = (8, 10)
    with pytest.raises(ValueError, match='original frame size'):
        PackActorActionInputs()(results)


def test_feeds_action_data_preprocessor():
    pack = PackActorActionInputs()
    batch = pseudo_collate(
        [pack(make_results(seed=0)),
         pack(make_results(seed=1))])
    preprocessor = MODELS.build(
        dict(
            type='ActionDataPreprocessor',
            format_shape='NCTHW',
            mean=[127.5] * 3,
            std=[127.5] * 3))
    data = preprocessor(batch, training=True)
    inputs = data['inputs']
    assert inputs.shape == (2, 3, 4, 8, 12)
    assert inputs.dtype == torch.float32
    assert inputs.min() == -1 and inputs.max() == 1
    assert inputs[0, 0, 0, 0, 0] == -1 and inputs[0, 0, 0, 0, 1] == 1
    assert len(data['data_samples']) == 2
    assert data['data_samples'][1].gt_actor_seg.shape == (4, 8, 12)


def test_feeds_multimodal_data_preprocessor():
    pack = PackActorActionInputs()
    batch = pseudo_collate([
        pack(make_results(flow=True, num_actions=3, seed=0)),
        pack(make_results(flow=True, num_actions=3, seed=1))
    ])
    preprocessor = MODELS.build(
        dict(
            type='MultiModalDataPreprocessor',
            preprocessors=dict(
                imgs=dict(
                    type='ActionDataPreprocessor',
                    format_shape='NCTHW',
                    mean=[127.5] * 3,
                    std=[127.5] * 3),
                flow=dict(
                    type='ActionDataPreprocessor',
                    format_shape='NCTHW',
                    mean=[0, 0],
                    std=[20, 20]))))
    data = preprocessor(batch, training=False)
    assert data['inputs']['imgs'].shape == (2, 3, 4, 8, 12)
    assert data['inputs']['imgs'].min() >= -1
    assert data['inputs']['flow'].shape == (2, 2, 4, 8, 12)
    torch.testing.assert_close(data['inputs']['flow'][1] * 20,
                               batch['inputs']['flow'][1])
    assert data['data_samples'][0].gt_action_seg.shape == (4, 3, 8, 12)
