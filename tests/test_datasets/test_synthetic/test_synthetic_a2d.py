"""The synthetic A2D generator: real formats, content, determinism."""
import csv
import filecmp
import os
import os.path as osp

import cv2
import h5py
import numpy as np
import pytest

from ssa2d_mm.datasets.a2d_labels import COLORS, VALID_JOINT_IDS
from ssa2d_mm.datasets.synthetic import make_synthetic_a2d
from ssa2d_mm.datasets.synthetic.a2d import _pose, _video_ids

H, W, F = 32, 64, 10
KW = dict(num_videos=4, height=H, width=W, num_frames=F)


@pytest.fixture(scope='module')
def a2d(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('a2d'))
    return make_synthetic_a2d(out, seed=3, return_frames=True, **KW)


def test_release_layout(a2d):
    root = a2d['release_dir']
    assert sorted(os.listdir(root)) == [
        'Annotations', 'README', 'clips320H', 'videoset.csv'
    ]
    for video in a2d['videos']:
        assert osp.isfile(osp.join(root, 'clips320H', video['vid'] + '.mp4'))
        for kind, ext in (('mat', '.mat'), ('col', '.png')):
            names = sorted(
                os.listdir(osp.join(root, 'Annotations', kind, video['vid'])))
            assert names == [f'{fid:05d}{ext}' for fid in video['labels']]
    assert osp.isfile(osp.join(osp.dirname(root), 'synthetic_a2d_gt.json'))


def test_readme_label_table(a2d):
    rows = {}
    with open(osp.join(a2d['release_dir'], 'README')) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 6 and parts[1].isdigit():
                name, jid, valid, r, g, b = parts
                rows[int(jid)] = (name, int(valid), (int(r), int(g), int(b)))
    assert set(rows) == set(COLORS)
    for jid, (name, valid, rgb) in rows.items():
        assert rgb == COLORS[jid]
        assert valid == int(jid == 0 or jid in VALID_JOINT_IDS)
    assert rows[11][0] == 'adult-climbing' and rows[0][0] == 'background'


def test_videoset_csv(a2d):
    with open(osp.join(a2d['release_dir'], 'videoset.csv')) as f:
        rows = list(csv.reader(f))
    assert len(rows) == len(a2d['videos'])
    for row, video in zip(rows, a2d['videos']):
        assert len(row) == 9  # no header: the first row is a video
        vid, label, t0, t1, h, w, frames, anno, test = row
        assert vid == video['vid'] and len(vid) == 11
        assert int(label) == video['label'] and int(label) in VALID_JOINT_IDS
        assert float(t1) > float(t0)
        assert (int(h), int(w), int(frames)) == (H, W, F)
        assert int(anno) == len(video['labels'])
        assert int(test) == (video['split'] == 'test')
    assert {v['split'] for v in a2d['videos']} == {'train', 'test'}


def test_video_ids_are_youtube_like():
    ids = _video_ids(np.random.default_rng(0), 60)
    assert len(set(ids)) == 60 and all(len(i) == 11 for i in ids)
    assert any(i.startswith('-') for i in ids)


def test_content(a2d):
    for video in a2d['videos']:
        assert 1 <= len(video['actors']) <= 3
        assert len(video['labels']) in (1, 2, 3, 5)
        assert video['frames'].shape == (F, H, W, 3)
        for actor in video['actors']:
            assert actor['joint_id'] in VALID_JOINT_IDS
        for fid, label_map in video['labels'].items():
            assert 1 <= fid <= F and label_map.shape == (H, W)
            present = set(np.unique(label_map).tolist()) - {0}
            assert present == set(video['instances'][fid])
    counts = {len(v['actors']) for v in a2d['videos']}
    assert counts >= {1, 2, 3}


def test_col_png_matches_labels(a2d):
    video = a2d['videos'][1]
    fid = min(video['labels'])
    bgr = cv2.imread(
        osp.join(a2d['release_dir'], 'Annotations', 'col', video['vid'],
                 f'{fid:05d}.png'))
    label_map = video['labels'][fid]
    for jid in np.unique(label_map):
        assert (bgr[label_map == jid][:, ::-1] == COLORS[int(jid)]).all()


def test_mat_is_matlab_v73(a2d):
    video = a2d['videos'][2]
    fid = min(video['labels'])
    path = osp.join(a2d['release_dir'], 'Annotations', 'mat', video['vid'],
                    f'{fid:05d}.mat')
    with open(path, 'rb') as f:
        header = f.read(128)
    assert header.startswith(b'MATLAB 7.3 MAT-file')
    assert header[124:128] == b'\x00\x02IM'  # version 0x0200, endian 'IM'
    with h5py.File(path, 'r') as f:
        assert f.userblock_size == 512
        for key in ('reS_id', 'reMask', 'reBBox', 'id'):
            assert f[key].dtype == np.float64
            assert f[key].attrs['MATLAB_class'] == b'double'
        np.testing.assert_array_equal(f['reS_id'][()].T, video['labels'][fid])
        assert f['reS_col'].shape == (3, W, H)
        names = [
            bytes(f[ref][()].ravel().astype(np.uint8)).decode()
            for ref in f['class'][()].ravel()
        ]
        assert f['class'].attrs['MATLAB_class'] == b'cell'
    assert all('-' in n for n in names)


def test_actions_move_as_documented():
    """Each action's trajectory has its own signature."""

    def track(action, t):
        actor = dict(
            action=action,
            half_extent=(5.0, 5.0),
            x0=64.0,
            y0=48.0,
            dir=1,
            phase=0.0)
        return np.array([_pose(actor, s, 96, 128, 32) for s in t])

    t = np.arange(16)
    climb = track(1, t)
    assert (np.diff(climb[:, 1]) < 0).all()  # always up
    assert np.ptp(climb[:, 0]) == 0
    fly = track(4, t)
    assert fly[-1, 1] < fly[0, 1] and np.ptp(fly[:, 0]) > 10  # diagonal
    jump = track(5, t)
    assert np.ptp(jump[:, 1]) > 20 and np.ptp(jump[:, 0]) == 0
    roll = track(6, t)
    assert np.ptp(roll[:, 4]) > 1 and np.ptp(roll[:, 0]) > 10
    run, walk = track(7, t), track(8, t)
    speed = lambda p: np.abs(np.diff(p[:, 0])).mean()  # noqa: E731
    assert speed(run) > 3 * speed(walk) > 0
    crawl = track(2, t)
    assert crawl[:, 1].min() > walk[:, 1].max()  # low in the frame
    assert crawl[:, 3].max() < 1 and crawl[:, 2].min() > 1  # squashed
    eat = track(3, t)
    assert np.ptp(eat[:, 2]) > 0.3 and np.ptp(eat[:, :2], axis=0).max() == 0
    still = track(9, t)
    assert np.ptp(still, axis=0).max() == 0


def test_deterministic_for_a_seed(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    make_synthetic_a2d(a, seed=5, **KW)
    make_synthetic_a2d(b, seed=5, **KW)
    make_synthetic_a2d(c, seed=6, **KW)

    def files(root):
        return sorted(
            osp.relpath(osp.join(d, n), root) for d, _, names in os.walk(root)
            for n in names)

    assert files(a) == files(b)
    _, mismatch, errors = filecmp.cmpfiles(a, b, files(a), shallow=False)
    assert mismatch == [] and errors == []
    assert not filecmp.cmp(
        osp.join(a, 'Release', 'videoset.csv'),
        osp.join(c, 'Release', 'videoset.csv'),
        shallow=False)


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match='even'):
        make_synthetic_a2d(str(tmp_path), height=33, width=64)
    with pytest.raises(ValueError, match='num_frames'):
        make_synthetic_a2d(str(tmp_path), num_frames=2)
