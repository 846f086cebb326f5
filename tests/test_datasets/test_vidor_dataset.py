import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS

from ssa2d_mm.datasets import VidORDataset
from ssa2d_mm.datasets.flow import extract_flow_dataset
from ssa2d_mm.datasets.synthetic import make_synthetic_vidor
from ssa2d_mm.datasets.transforms import LoadVidORAnnotation
from ssa2d_mm.datasets.vidor_dataset import centred_clip
from ssa2d_mm.datasets.vidor_labels import VIDOR_ACTION_PREDICATES


@pytest.fixture(scope='module')
def vidor_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('vidor'))
    make_synthetic_vidor(root, num_train=3, num_val=1, seed=3)
    return root


def relations(root, split):
    out = []
    for path in sorted(glob.glob(f'{root}/annotation/{split}/*/*.json')):
        out += json.load(open(path))['relation_instances']
    return out


def test_centred_clip():
    inds, valid = centred_clip(5, 4, 2, 8)
    np.testing.assert_array_equal(inds, [1, 3, 5, 7])
    assert valid.all()
    inds, valid = centred_clip(1, 4, 2, 8)
    np.testing.assert_array_equal(inds, [0, 0, 1, 3])
    np.testing.assert_array_equal(valid, [False, False, True, True])


def test_dataset_one_sample_per_relation(vidor_root):
    ds = DATASETS.build(
        dict(
            type='VidORDataset',
            ann_file='annotation/training',
            data_root=vidor_root,
            data_prefix=dict(video='video', flow='flow'),
            clip_len=8,
            frame_interval=2,
            pipeline=[]))
    rels = relations(vidor_root, 'training')
    assert len(ds) == len(rels)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        rel = rels[i]
        assert info['predicate'] == rel['predicate']
        centre = (rel['begin_fid'] + rel['end_fid'] - 1) // 2
        assert info['frame_id'] == centre + 1
        assert info['frame_inds'][info['label_frame_index']] == centre
        assert len(info['frame_inds']) == 8
        assert osp.isfile(info['filename']) and osp.isfile(info['ann_file'])
        folder, vid = osp.relpath(info['filename'],
                                  osp.join(vidor_root, 'video')).split('/')
        assert info['flow_dir'] == osp.join(vidor_root, 'flow', folder,
                                            vid[:-4])
    assert ds.metainfo['actor_classes'][0] == 'background'
    assert len(ds.metainfo['action_classes']) == 50

    only = VidORDataset(
        ann_file='annotation/training',
        data_root=vidor_root,
        action_predicates_only=True,
        pipeline=[])
    assert len(only) == sum(r['predicate'] in VIDOR_ACTION_PREDICATES
                            for r in rels)
    assert len(only.metainfo['action_classes']) == 42


def test_dataset_pipeline_end_to_end(vidor_root):
    ds = VidORDataset(
        ann_file='annotation/training',
        data_root=vidor_root,
        clip_len=32,  # longer than the 24-frame videos: edges are padded
        frame_interval=1,
        pipeline=[
            dict(type='DecordInit'),
            dict(type='DecordDecode'),
            dict(type='LoadVidORAnnotation'),
            dict(type='ClipSegResize', scale=(32, 24), keep_ratio=False),
            dict(type='ClipSegFlip', flip_ratio=0.5),
            dict(type='PackActorActionInputs'),
        ])
    packed = ds[0]
    assert packed['inputs'].shape == (3, 32, 24, 32)
    sample = packed['data_samples']
    assert sample.gt_actor_seg.shape == (32, 24, 32)
    assert sample.gt_action_seg.shape == (32, 50, 24, 32)
    assert sample.gt_action_seg.dtype == torch.uint8
    valid = ds.get_data_info(0)['frame_valid']
    assert not valid.all()
    assert torch.all(sample.gt_actor_seg[torch.from_numpy(~valid)] == 255)
    assert not torch.any(sample.gt_actor_seg[torch.from_numpy(valid)] == 255)
    # the relation's subject is labelled on the centre frame with its
    # predicate
    info = ds.get_data_info(0)
    centre = sample.gt_action_seg[info['label_frame_index']]
    pred = ds.metainfo['action_classes'].index(info['predicate'])
    assert centre[pred].any()
    assert sample.metainfo['ori_shape'] == (48, 64)


def test_loading_transform_draws_at_decoded_size_and_caches(vidor_root):
    ds = VidORDataset(
        ann_file='annotation/validation', data_root=vidor_root, pipeline=[])
    info = ds.get_data_info(0)
    load = LoadVidORAnnotation(cache_size=1)
    results = load(dict(info))
    assert results['gt_actor_seg'].shape == (16, 48, 64)
    assert results['img_shape'] == (48, 64)
    assert info['ann_file'] in load._cache
    assert results['gt_action_seg'].shape[1] == 50
    only = LoadVidORAnnotation(action_predicates_only=True)(dict(info))
    assert only['gt_action_seg'].shape[1] == 42
    # After a resize (test pipelines) labels stay at the decoded size.
    resized = load(dict(info, img_shape=(24, 32), ori_shape=(48, 64)))
    assert resized['gt_actor_seg'].shape == (16, 48, 64)
    assert resized['img_shape'] == (24, 32)
    # Decoded frames at another size than annotated: boxes are scaled.
    small = load(dict(info, ori_shape=(24, 32)))
    assert small['gt_actor_seg'].shape == (16, 24, 32)


def test_dataset_errors(tmp_path, vidor_root):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        VidORDataset(ann_file=str(tmp_path / 'nope'), pipeline=[])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no <XXXX>/<id>.json'):
        VidORDataset(ann_file=str(tmp_path / 'empty'), pipeline=[])
    bad = tmp_path / 'bad' / '0000'
    bad.mkdir(parents=True)
    src = sorted(glob.glob(f'{vidor_root}/annotation/training/*/*.json'))[0]
    anno = json.load(open(src))
    del anno['relation_instances'][0]['predicate']
    (bad / 'x.json').write_text(json.dumps(anno))
    with pytest.raises(
            ValueError,
            match=r'x.json: missing key relation_instances\[0\].predicate'):
        VidORDataset(ann_file=str(tmp_path / 'bad'), pipeline=[])
    with pytest.raises(ValueError):
        VidORDataset(ann_file=src, clip_len=0, pipeline=[])


def test_rgb_and_flow_pipeline(vidor_root):
    summary = extract_flow_dataset(
        vidor_root,
        osp.join(vidor_root, 'flow'),
        videos='video/*/*.mp4',
        method='farneback')
    assert summary['videos'] == 4
    ds = VidORDataset(
        ann_file='annotation/training',
        data_root=vidor_root,
        data_prefix=dict(flow='flow'),
        clip_len=4,
        action_predicates_only=True,
        pipeline=[
            dict(type='DecordInit'),
            dict(type='DecordDecode'),
            dict(type='LoadVidORAnnotation'),  # A = 42 from the dataset
            dict(type='LoadFlowClip'),
            dict(type='ClipSegRandomCrop', size=(40, 32)),
            dict(type='ClipSegFlip', flip_ratio=0.5),
            dict(type='PackActorActionInputs'),
        ])
    packed = ds[len(ds) - 1]
    assert packed['inputs']['imgs'].shape == (3, 4, 32, 40)
    assert packed['inputs']['flow'].shape == (2, 4, 32, 40)
    assert packed['data_samples'].gt_action_seg.shape == (4, 42, 32, 40)
