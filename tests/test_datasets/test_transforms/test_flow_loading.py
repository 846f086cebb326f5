import numpy as np
import pytest
from mmcv.transforms import Compose

from ssa2d_mm.datasets.flow import extract_video_flow, load_flow_frames
from ssa2d_mm.datasets.transforms import LoadFlowClip
# One moving-texture video serves both flow test files.
from test_datasets.test_flow import DX, DY, write_shift_video


def test_loaded_flow_of_a_translation(tmp_path):
    video = str(tmp_path / 'clips320H' / 'shift.mp4')
    write_shift_video(video)
    flow_dir = str(tmp_path / 'flow' / 'shift')
    result = extract_video_flow(video, flow_dir, method='dis')
    assert result['status'] == 'extracted' and result['num_flows'] == 4
    results = LoadFlowClip(flow_root=str(tmp_path / 'flow'))(
        dict(video_id='shift', frame_inds=np.array([0, 2, 4])))
    flows = results['flow_imgs']
    assert len(flows) == 3
    assert flows[0].shape == (32, 48, 2) and flows[0].dtype == np.float32
    inner = np.stack(flows)[:, 6:-6, 6:-6]
    assert abs(np.median(inner[..., 0]) - DX) < 0.3
    assert abs(np.median(inner[..., 1]) - DY) < 0.3
    # the last frame reuses the last pair's flow
    np.testing.assert_array_equal(flows[2], load_flow_frames(flow_dir, [3])[0])

    # a horizontal flip reverses the x motion, keeps the y motion
    frames = [np.zeros((32, 48, 3), np.uint8)] * 3
    flipped = Compose([
        dict(type='LoadFlowClip'),
        dict(type='ClipSegFlip', flip_ratio=1.0),
        dict(type='PackActorActionInputs'),
    ])(
        dict(flow_dir=flow_dir, frame_inds=np.array([0, 2, 4]), imgs=frames))
    flow = flipped['inputs']['flow'][:, :, 6:-6, 6:-6]
    assert abs(flow[0].median().item() + DX) < 0.3
    assert abs(flow[1].median().item() - DY) < 0.3


def test_load_flow_errors(tmp_path):
    with pytest.raises(KeyError, match='flow_dir'):
        LoadFlowClip()(dict(frame_inds=np.array([0])))
    with pytest.raises(FileNotFoundError, match='extract_flow.py'):
        LoadFlowClip(flow_root=str(tmp_path))(
            dict(video_id='missing', frame_inds=np.array([0])))
    video = str(tmp_path / 'v.mp4')
    write_shift_video(video, num_frames=3)
    extract_video_flow(video, str(tmp_path / 'v'), method='farneback')
    with pytest.raises(ValueError, match='decoded frames'):
        LoadFlowClip()(
            dict(
                flow_dir=str(tmp_path / 'v'),
                frame_inds=np.array([0]),
                imgs=[np.zeros((10, 10, 3), np.uint8)]))
