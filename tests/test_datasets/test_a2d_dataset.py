"""A2DDataset on a tiny synthetic release: entries, splits, parsing errors
and skipping bad samples."""
import logging
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.logging import MMLogger

from ssa2d_mm.datasets import A2DDataset, DataFileError, load_videoset
from ssa2d_mm.datasets.synthetic import make_synthetic_a2d

H, W, F = 32, 64, 10

PIPELINE = [
    dict(type='VideoInit'),
    dict(type='SampleAnnotatedClip', clip_len=4),
    dict(type='VideoDecode'),
    dict(type='LoadA2DAnnotation'),
]


@pytest.fixture(scope='module')
def a2d(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('a2d'))
    return make_synthetic_a2d(
        out, num_videos=4, seed=2, height=H, width=W, num_frames=F)


@pytest.fixture
def broken(a2d, tmp_path):
    """A copy of the release whose first train video is corrupt."""
    root = str(tmp_path / 'Release')
    shutil.copytree(a2d['release_dir'], root)
    video = next(v for v in a2d['videos'] if v['split'] == 'train')
    with open(osp.join(root, 'clips320H', video['vid'] + '.mp4'), 'wb') as f:
        f.write(b'not a video' * 100)
    return root, video


def build(root, **kwargs):
    cfg = dict(type='A2DDataset', data_root=root, pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


@pytest.mark.parametrize('split', ['train', 'test'])
@pytest.mark.parametrize('source', ['mat', 'col'])
def test_one_entry_per_annotated_frame(a2d, split, source):
    ds = build(a2d['release_dir'], split=split, label_source=source)
    assert isinstance(ds, A2DDataset)
    videos = [v for v in a2d['videos'] if v['split'] == split]
    assert videos
    assert len(ds) == sum(len(v['labels']) for v in videos)
    expected = {(v['vid'], fid) for v in videos for fid in v['labels']}
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert {(d['video_id'], d['frame_id']) for d in infos} == expected
    d = infos[0]
    assert d['filename'] == osp.join(a2d['release_dir'], 'clips320H',
                                     d['video_id'] + '.mp4')
    ext = '.mat' if source == 'mat' else '.png'
    assert d['ann_file'] == osp.join(a2d['release_dir'], 'Annotations', source,
                                     d['video_id'],
                                     f"{d['frame_id']:05d}{ext}")
    assert d['label_source'] == source and d['split'] == split
    assert ds.metainfo['actor_classes'][1] == 'adult'
    assert ds.metainfo['action_classes'][9] == 'none'
    assert len(ds.metainfo['valid_joint_ids']) == 43


def test_sample_through_pipeline(a2d):
    ds = build(a2d['release_dir'], split='test')
    out = ds[0]
    video = next(v for v in a2d['videos'] if v['vid'] == out['video_id'])
    label_map = video['labels'][out['frame_id']]
    k = out['label_frame_index']
    np.testing.assert_array_equal(out['gt_actor_seg'][k], label_map // 10)
    assert out['gt_actor_seg'].shape == (4, H, W)


def test_ann_file_path_and_prefix(a2d):
    root = a2d['release_dir']
    ds = A2DDataset(
        ann_file=osp.join(root, 'videoset.csv'),
        pipeline=[],
        data_prefix=dict(
            video=osp.join(root, 'clips320H'),
            ann=osp.join(root, 'Annotations/col')),
        label_source='col')
    assert len(ds) == len(build(root))


def test_invalid_arguments(a2d):
    with pytest.raises(ValueError, match='split'):
        build(a2d['release_dir'], split='val')
    with pytest.raises(ValueError, match='label_source'):
        build(a2d['release_dir'], label_source='json')


@pytest.mark.parametrize('line,problem', [
    ('abcdefghijk,11,0,2,32,64,10,3', 'expected 9 comma-separated columns'),
    ('abcdefghijk,11,0,2,32,64,ten,3,0', "column 'frames' must be a number"),
    ('abcdefghijk,11,0,2,32,64,10,3,2', "column 'test' must be 0"),
])
def test_videoset_parse_error_names_file_and_line(tmp_path, line, problem):
    csv = str(tmp_path / 'videoset.csv')
    with open(csv, 'w') as f:
        f.write('-bcdefghijk,11,0,2,32,64,10,3,0\n' + line + '\n')
    with pytest.raises(DataFileError, match=problem) as err:
        A2DDataset(ann_file=csv, pipeline=[])
    assert err.value.file == csv
    assert str(err.value).startswith(f'{csv}: line 2:')


def test_videoset_rows(a2d):
    rows = load_videoset(osp.join(a2d['release_dir'], 'videoset.csv'))
    assert [r['vid'] for r in rows] == [v['vid'] for v in a2d['videos']]
    assert all(len(r['vid']) == 11 for r in rows)
    assert rows[0]['frames'] == F and rows[0]['height'] == H


def test_bad_sample_raises_without_skipping(broken):
    root, video = broken
    ds = build(root)
    idx = next(
        i for i in range(len(ds))
        if ds.get_data_info(i)['video_id'] == video['vid'])
    with pytest.raises(DataFileError, match='cannot open the video') as err:
        ds[idx]
    assert err.value.file.endswith(video['vid'] + '.mp4')


class _Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_skip_bad_samples_in_training(broken):
    root, video = broken
    ds = build(root, skip_bad_samples=True)
    bad = [
        i for i in range(len(ds))
        if ds.get_data_info(i)['video_id'] == video['vid']
    ]
    assert bad and len(bad) < len(ds)
    handler = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        for i in bad:
            out = ds[i]
            assert out['video_id'] != video['vid']  # another sample
    finally:
        logger.removeHandler(handler)
    assert ds.num_bad_samples >= len(bad)
    logged = [m for m in handler.messages if 'skipped bad sample' in m]
    assert len(logged) == ds.num_bad_samples
    assert video['vid'] + '.mp4' in logged[0]
    assert 'cannot open the video' in logged[0]
    # get_subset deep-copies the dataset: the counter stays shared
    sub = ds.get_subset(bad[:1])
    before = ds.num_bad_samples
    assert sub.num_bad_samples == before


def test_skip_bad_samples_does_not_skip_in_test_mode(broken):
    root, video = broken
    ds = build(root, skip_bad_samples=True, test_mode=True)
    idx = next(
        i for i in range(len(ds))
        if ds.get_data_info(i)['video_id'] == video['vid'])
    with pytest.raises(DataFileError):
        ds[idx]
    assert ds.num_bad_samples == 0


def _first(batch):
    return batch[0]['video_id']


def test_skip_counter_is_shared_by_workers(broken):
    root, video = broken
    ds = build(root, skip_bad_samples=True)
    bad = [
        i for i in range(len(ds))
        if ds.get_data_info(i)['video_id'] == video['vid']
    ]
    loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(ds, bad * 2),
        batch_size=1,
        num_workers=2,
        collate_fn=_first,
        multiprocessing_context='fork')
    vids = list(loader)
    assert len(vids) == 2 * len(bad) and video['vid'] not in vids
    # every skip happened in a worker process, and the count reached us
    assert ds.num_bad_samples >= 2 * len(bad)


def test_fewer_annotations_than_listed_warns(a2d, tmp_path):
    root = str(tmp_path / 'Release')
    shutil.copytree(a2d['release_dir'], root)
    video = next(v for v in a2d['videos'] if v['split'] == 'train')
    fid = min(video['labels'])
    os.remove(
        osp.join(root, 'Annotations', 'mat', video['vid'], f'{fid:05d}.mat'))
    handler = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        ds = build(root)
    finally:
        logger.removeHandler(handler)
    full = build(a2d['release_dir'])
    assert len(ds) == len(full) - 1
    assert any(video['vid'] in m and 'annotations' in m
               for m in handler.messages)
