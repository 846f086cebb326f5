import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from ssa2d_mm.datasets.flow import (DONE_MARKER, create_flow_estimator,
                                    dequantize_flow, extract_flow_dataset,
                                    extract_video_flow, find_videos,
                                    flow_file_indices, quantize_flow)

DX, DY = 2, -1  # content motion in pixels per frame


def write_shift_video(path, num_frames=5, size=(48, 32), seed=0):
    """A smooth texture translating by (DX, DY) px per frame."""
    w, h = size
    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(
        rng.random((h + 40, w + 40)).astype(np.float32), (0, 0), 2.5)
    big = ((big - big.min()) / (big.max() - big.min()) * 255).astype(np.uint8)
    os.makedirs(osp.dirname(path), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10, (w, h))
    for f in range(num_frames):
        x0, y0 = 20 - DX * f, 20 - DY * f
        writer.write(
            cv2.cvtColor(big[y0:y0 + h, x0:x0 + w], cv2.COLOR_GRAY2BGR))
    writer.release()


def test_quantisation_matches_denseflow_and_inverts():
    flow = np.array([[[-25., 0.], [20., -20.]], [[0.5, 3.3], [-7., 100.]]],
                    dtype=np.float32)
    qx, qy = quantize_flow(flow, bound=20)
    # denseflow: round(255 * (v + bound) / (2 * bound)), clipped
    expected = np.clip(np.rint((flow + 20) * 255 / 40), 0, 255)
    np.testing.assert_array_equal(qx, expected[..., 0])
    np.testing.assert_array_equal(qy, expected[..., 1])
    assert qx.dtype == np.uint8
    back = dequantize_flow(qx, qy, bound=20)
    assert back.dtype == np.float32 and back.shape == (2, 2, 2)
    inside = np.abs(flow) <= 20
    assert np.all(np.abs(back - flow)[inside] <= 20 / 255 + 1e-6)
    assert back[0, 0, 0] == -20 and back[1, 1, 1] == 20


def test_flow_file_indices_convention():
    # N = 5 frames -> 4 flows; frame i uses flow_{min(i, 3) + 1}
    np.testing.assert_array_equal(
        flow_file_indices([0, 1, 3, 4], 4), [1, 2, 4, 4])
    with pytest.raises(ValueError):
        flow_file_indices([0], 0)


def test_estimators():
    with pytest.raises(ValueError, match='dis'):
        create_flow_estimator('raft')
    for method in ('dis', 'farneback', 'tvl1'):
        assert callable(create_flow_estimator(method))


def test_extract_writes_files_and_resumes(tmp_path):
    root = tmp_path / 'Release'
    for vid in ('-vidA00001', 'vidB000002'):
        write_shift_video(str(root / 'clips320H' / f'{vid}.mp4'))
    out = str(root / 'flow')
    summary = extract_flow_dataset(str(root), out, method='farneback')
    assert summary['videos'] == 2 and summary['extracted'] == 2
    assert summary['skipped'] == 0 and summary['flow_frames'] == 8
    for vid in ('-vidA00001', 'vidB000002'):
        names = sorted(os.listdir(osp.join(out, vid)))
        assert names == [DONE_MARKER] + [
            f'flow_{a}_{k:05d}.jpg' for a in 'xy' for k in range(1, 5)
        ]
        marker = json.load(open(osp.join(out, vid, DONE_MARKER)))
        assert marker['num_frames'] == 5 and marker['num_flows'] == 4
        assert marker['method'] == 'farneback' and marker['bound'] == 20
        assert (marker['height'], marker['width']) == (32, 48)
    probe = osp.join(out, '-vidA00001', 'flow_x_00001.jpg')
    mtime = os.stat(probe).st_mtime_ns

    again = extract_flow_dataset(str(root), out, method='farneback')
    assert again['skipped'] == 2 and again['extracted'] == 0
    assert os.stat(probe).st_mtime_ns == mtime

    # an interrupted video (no marker) is redone; other settings too
    os.remove(osp.join(out, 'vidB000002', DONE_MARKER))
    third = extract_flow_dataset(str(root), out, method='farneback')
    assert third['extracted'] == 1 and third['skipped'] == 1
    fourth = extract_flow_dataset(str(root), out, method='farneback', bound=10)
    assert fourth['extracted'] == 2
    with pytest.raises(FileNotFoundError, match='no video matches'):
        extract_flow_dataset(str(root), out, videos='nothing/*.mp4')


def test_find_videos_names(tmp_path):
    for rel in ('clips320H/-abc.mp4', 'video/0000/123.mp4',
                'video/0001/456.mp4'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b'')
    a2d = find_videos(str(tmp_path), 'clips320H/*.mp4')
    assert [name for _, name in a2d] == ['-abc']
    vidor = find_videos(str(tmp_path), 'video/*/*.mp4')
    assert [name for _, name in vidor] == ['0000/123', '0001/456']
    assert vidor[0][0] == str(tmp_path / 'video/0000/123.mp4')
    assert find_videos(str(tmp_path), 'no_such_dir/*.mp4') == []


def test_extract_parallel_workers(tmp_path):
    root = tmp_path / 'vidor'
    write_shift_video(str(root / 'video' / '0000' / '111.mp4'))
    write_shift_video(str(root / 'video' / '0001' / '222.mp4'))
    summary = extract_flow_dataset(
        str(root), str(root / 'flow'), videos='video/*/*.mp4', workers=2)
    assert summary['extracted'] == 2
    assert osp.isfile(root / 'flow' / '0001' / '222' / DONE_MARKER)


def test_extract_video_flow_status_and_errors(tmp_path):
    video = str(tmp_path / 'v.mp4')
    write_shift_video(video, num_frames=3)
    first = extract_video_flow(video, str(tmp_path / 'v'), 'dis', 20)
    assert first['status'] == 'extracted' and first['num_flows'] == 2
    second = extract_video_flow(video, str(tmp_path / 'v'), 'dis', 20)
    assert second['status'] == 'skipped' and second['num_flows'] == 2
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'not a video')
    with pytest.raises(ValueError, match='broken.mp4'):
        extract_video_flow(str(broken), str(tmp_path / 'b'))
