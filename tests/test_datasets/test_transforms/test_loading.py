"""Video decoding with fallback, clip sampling and A2D annotation loading,
on a tiny synthetic A2D release."""
import os.path as osp
import shutil

import cv2
import h5py
import numpy as np
import pytest
from mmaction.registry import TRANSFORMS
from mmcv.transforms import Compose

from ssa2d_mm.datasets.a2d_labels import ids_to_color
from ssa2d_mm.datasets.errors import DataFileError
from ssa2d_mm.datasets.synthetic import make_synthetic_a2d, write_a2d_mat
from ssa2d_mm.datasets.transforms import (LoadA2DAnnotation,
                                          SampleAnnotatedClip, VideoDecode,
                                          VideoInit)
from ssa2d_mm.datasets.transforms.loading import (probe_video,
                                                  read_a2d_annotation,
                                                  read_a2d_mat)

H, W, F = 32, 64, 10  # not square: a transposition error would show


@pytest.fixture(scope='module')
def a2d(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('a2d'))
    gt = make_synthetic_a2d(
        out,
        num_videos=3,
        seed=1,
        height=H,
        width=W,
        num_frames=F,
        return_frames=True)
    return gt


def video_path(gt, video):
    return osp.join(gt['release_dir'], 'clips320H', video['vid'] + '.mp4')


def ann_path(gt, video, fid, kind='mat'):
    ext = '.mat' if kind == 'mat' else '.png'
    return osp.join(gt['release_dir'], 'Annotations', kind, video['vid'],
                    f'{fid:05d}{ext}')


def pipeline(clip_len=4, frame_interval=1, backends=None):
    video_kw = {} if backends is None else dict(backends=backends)
    return Compose([
        dict(type='VideoInit', **video_kw),
        dict(
            type='SampleAnnotatedClip',
            clip_len=clip_len,
            frame_interval=frame_interval),
        dict(type='VideoDecode', **video_kw),
        dict(type='LoadA2DAnnotation'),
    ])


def sample(gt, video, fid, kind='mat'):
    return dict(
        filename=video_path(gt, video),
        video_id=video['vid'],
        frame_id=fid,
        ann_file=ann_path(gt, video, fid, kind),
        label_source=kind)


def test_registered():
    for name in ('VideoInit', 'VideoDecode', 'SampleAnnotatedClip',
                 'LoadA2DAnnotation'):
        assert TRANSFORMS.get(name) is not None


@pytest.mark.parametrize(
    'frame_id,clip_len,interval,expected',
    [
        (5, 4, 1, [2, 3, 4, 5]),
        (5, 4, 2, [0, 2, 4, 6]),
        (1, 4, 1, [0, 0, 0, 1]),  # padded by repeating the first frame
        (10, 5, 1, [7, 8, 9, 9, 9]),  # and the last
        (10, 4, 3, [3, 6, 9, 9]),
    ])
def test_sample_annotated_clip(frame_id, clip_len, interval, expected):
    out = SampleAnnotatedClip(clip_len, interval)(
        dict(frame_id=frame_id, total_frames=10, filename='v.mp4'))
    assert out['frame_inds'].tolist() == expected
    assert out['frame_inds'].dtype == np.int64
    assert out['label_frame_index'] == clip_len // 2
    # the annotated frame (0-based frame_id - 1) sits at label_frame_index
    assert out['frame_inds'][clip_len // 2] == frame_id - 1
    assert out['clip_len'] == clip_len and out['num_clips'] == 1


def test_sample_annotated_clip_rejects_frame_beyond_video():
    with pytest.raises(DataFileError, match=r'v\.mp4: annotated frame 00011'):
        SampleAnnotatedClip(4)(
            dict(frame_id=11, total_frames=10, filename='v.mp4'))
    with pytest.raises(ValueError):
        SampleAnnotatedClip(0)


def test_decoded_frames_match_generator(a2d):
    video = a2d['videos'][0]
    results = VideoInit()(dict(filename=video_path(a2d, video)))
    assert results['total_frames'] == F
    results['frame_inds'] = np.array([0, 3, 3, 9])
    results = VideoDecode()(results)
    imgs = np.stack(results['imgs'])
    assert imgs.shape == (4, H, W, 3) and imgs.dtype == np.uint8
    assert results['ori_shape'] == results['img_shape'] == (H, W)
    assert results['video_reader'] is None
    # mp4 is lossy: compare the mean absolute error, and against a
    # reversed (RGB/BGR-swapped) reference, which must be far worse.
    ref = video['frames'][[0, 3, 3, 9]].astype(np.float64)
    mae = np.abs(imgs - ref).mean()
    assert mae < 10
    assert np.abs(imgs - ref[..., ::-1]).mean() > 2 * mae


@pytest.mark.parametrize('backends', [('pyav', ), ('opencv', )])
def test_each_backend_decodes(a2d, backends):
    video = a2d['videos'][1]
    results = VideoInit(backends)(dict(filename=video_path(a2d, video)))
    assert results['video_backend'] == backends[0]
    results['frame_inds'] = np.array([2, 5])
    results = VideoDecode(backends)(results)
    ref = video['frames'][[2, 5]].astype(np.float64)
    assert np.abs(np.stack(results['imgs']) - ref).mean() < 10


def test_decode_falls_back_to_next_library(a2d, monkeypatch):
    video = a2d['videos'][0]
    from mmaction.datasets.transforms.loading import DecordDecode

    def broken(self, results):
        raise RuntimeError('simulated decord failure')

    monkeypatch.setattr(DecordDecode, 'transform', broken)
    results = VideoInit()(dict(filename=video_path(a2d, video)))
    assert results['video_backend'] == 'decord'
    results['frame_inds'] = np.array([1, 2])
    results = VideoDecode()(results)
    assert results['video_backend'] == 'pyav'
    ref = video['frames'][[1, 2]].astype(np.float64)
    assert np.abs(np.stack(results['imgs']) - ref).mean() < 10


@pytest.mark.parametrize('content', ['truncated', 'garbage'])
def test_corrupt_video_names_file(a2d, tmp_path, content):
    good = open(video_path(a2d, a2d['videos'][0]), 'rb').read()
    bad = str(tmp_path / 'corrupt.mp4')
    with open(bad, 'wb') as f:
        f.write(good[:len(good) //
                     2] if content == 'truncated' else bytes(range(256)) * 20)
    with pytest.raises(DataFileError) as err:
        pipeline()(
            dict(
                filename=bad, frame_id=1, ann_file='x.mat',
                label_source='mat'))
    assert err.value.file == bad
    msg = str(err.value)
    assert msg.startswith(bad) and 'cannot open the video' in msg
    for lib in ('decord', 'pyav', 'opencv'):
        assert lib in msg


def test_missing_video_names_file(tmp_path):
    missing = str(tmp_path / 'nope.mp4')
    with pytest.raises(DataFileError, match='video file not found') as err:
        VideoInit()(dict(filename=missing))
    assert err.value.file == missing


def test_probe_video(a2d):
    assert probe_video(video_path(a2d, a2d['videos'][2])) == (F, (H, W))


@pytest.mark.parametrize('kind', ['mat', 'col'])
def test_label_volume_equals_ground_truth(a2d, kind):
    for video in a2d['videos']:
        for fid, label_map in video['labels'].items():
            out = pipeline(clip_len=5)(sample(a2d, video, fid, kind))
            actor, action = out['gt_actor_seg'], out['gt_action_seg']
            assert actor.shape == action.shape == (5, H, W)
            assert actor.dtype == action.dtype == np.int64
            k = out['label_frame_index']
            assert k == 2 and out['frame_inds'][k] == fid - 1
            np.testing.assert_array_equal(actor[k], label_map // 10)
            np.testing.assert_array_equal(action[k], label_map % 10)
            others = [t for t in range(5) if t != k]
            assert (actor[others] == 255).all()
            assert (action[others] == 255).all()
            assert out['video_id'] == video['vid'] and out['frame_id'] == fid
            assert out['ori_shape'] == (H, W)
            assert len(out['imgs']) == 5


def test_mat_and_col_sources_agree(a2d):
    for video in a2d['videos']:
        for fid in video['labels']:
            np.testing.assert_array_equal(
                read_a2d_annotation(ann_path(a2d, video, fid, 'mat'), 'mat'),
                read_a2d_annotation(ann_path(a2d, video, fid, 'col'), 'col'))


def test_mat_layout_and_instances(a2d):
    """Stored HDF5 shapes are MATLAB's reversed; the reader undoes it."""
    seen_single = seen_multi = False
    for video in a2d['videos']:
        for fid, label_map in video['labels'].items():
            path = ann_path(a2d, video, fid)
            ids = video['instances'][fid]
            n = len(ids)
            with h5py.File(path, 'r') as f:
                assert f['reS_id'].shape == (W, H)
                assert f['reMask'].shape == ((W, H) if n == 1 else (n, W, H))
                assert f['reBBox'].shape == (4, n)
                assert f['id'].shape == (1, n)
                assert f['reS_id'].attrs['MATLAB_class'] == b'double'
            with open(path, 'rb') as f:
                assert f.read(19) == b'MATLAB 7.3 MAT-file'
            mat = read_a2d_mat(path)
            np.testing.assert_array_equal(mat['label_map'], label_map)
            assert mat['instance_ids'].tolist() == ids
            assert mat['instance_masks'].shape == (n, H, W)
            for mask, jid in zip(mat['instance_masks'], ids):
                assert mask.any() and (label_map[mask] == jid).all()
            ys, xs = np.nonzero(mat['instance_masks'][0])
            assert mat['bboxes'][0].tolist() == [
                xs.min() + 1,
                ys.min() + 1,
                xs.max() + 1,
                ys.max() + 1
            ]
            seen_single |= n == 1
            seen_multi |= n > 1
    assert seen_single and seen_multi


def test_truncated_mat_names_file(a2d, tmp_path):
    video = a2d['videos'][0]
    fid = min(video['labels'])
    data = open(ann_path(a2d, video, fid), 'rb').read()
    bad = str(tmp_path / '00001.mat')
    with open(bad, 'wb') as f:
        f.write(data[:len(data) // 3])
    with pytest.raises(DataFileError, match='unreadable MATLAB v7.3') as err:
        read_a2d_annotation(bad, 'mat')
    assert err.value.file == bad
    with pytest.raises(DataFileError, match='annotation file not found'):
        read_a2d_annotation(str(tmp_path / '00002.mat'), 'mat')


def test_unknown_label_id_names_file_and_id(a2d, tmp_path):
    video = a2d['videos'][0]
    fid = min(video['labels'])
    bad = str(tmp_path / f'{fid:05d}.mat')
    shutil.copy(ann_path(a2d, video, fid), bad)
    with h5py.File(bad, 'r+') as f:
        ids = f['reS_id'][()]
        ids[3, 4] = 99
        f['reS_id'][...] = ids
    results = sample(a2d, video, fid)
    results['ann_file'] = bad
    with pytest.raises(DataFileError, match=r'label ids \[99\]') as err:
        pipeline()(results)
    assert err.value.file == bad

    png = str(tmp_path / f'{fid:05d}.png')
    rgb = ids_to_color(video['labels'][fid])
    rgb[0, 0] = (1, 2, 3)
    cv2.imwrite(png, rgb[..., ::-1])
    with pytest.raises(DataFileError, match=r'RGB \[\(1, 2, 3\)\]') as err:
        read_a2d_annotation(png, 'col')
    assert err.value.file == png


def test_size_mismatch_names_file_and_sizes(a2d, tmp_path):
    video = a2d['videos'][0]
    fid = min(video['labels'])
    bad = str(tmp_path / f'{fid:05d}.mat')
    label_map = np.zeros((H, W + 2), np.int64)
    label_map[2:6, 3:9] = 18
    write_a2d_mat(bad, label_map, label_map[None] > 0, [18])
    results = sample(a2d, video, fid)
    results['ann_file'] = bad
    with pytest.raises(DataFileError) as err:
        pipeline()(results)
    assert err.value.file == bad
    assert f'{(H, W + 2)}' in str(err.value)
    assert f'{(H, W)}' in str(err.value)


def test_load_annotation_needs_decoded_frames(a2d):
    video = a2d['videos'][0]
    fid = min(video['labels'])
    results = dict(
        ann_file=ann_path(a2d, video, fid),
        label_source='mat',
        frame_inds=np.zeros(4, np.int64),
        label_frame_index=2)
    with pytest.raises(KeyError, match='after video decoding'):
        LoadA2DAnnotation()(results)
    with pytest.raises(ValueError):
        LoadA2DAnnotation('jpg')
