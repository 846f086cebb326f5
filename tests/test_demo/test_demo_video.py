import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest
from tiny_e2e import (REPO, make_tiny_a2d, save_checkpoint_of, tiny_config,
                      write_config)

from ssa2d_mm.apis import init_model
from ssa2d_mm.datasets.a2d_labels import COLORS
from ssa2d_mm.datasets.transforms.loading import VideoDecode, VideoInit


@pytest.fixture(scope='module')
def demo():
    spec = importlib.util.spec_from_file_location(
        'demo_video', osp.join(REPO, 'demo', 'demo_video.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_video(path: str,
                 num_frames: int = 12,
                 height: int = 96,
                 width: int = 128) -> None:
    """A smooth moving pattern, large enough for the legend to leave most
    of the frame free."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 24,
                             (width, height))
    y, x = np.mgrid[:height, :width]
    for t in range(num_frames):
        frame = np.stack([
            60 + 40 * np.sin((x + 3 * t) / 9.), 90 + 40 * np.cos(
                (y - 2 * t) / 7.),
            np.full(x.shape, 70. + 5 * t)
        ], -1)
        writer.write(frame.astype(np.uint8))
    writer.release()


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    release = make_tiny_a2d(str(root / 'data'))
    config = write_config(tiny_config(release), str(root / 'tiny.py'))
    # Every pixel adult (1) walking (8): the overlay colour is known.
    ckpt = save_checkpoint_of(
        init_model(config), str(root / 'constant.pth'), constant=(1, 8))
    video = str(root / 'video.mp4')
    _write_video(video)
    results = VideoInit()(dict(filename=video))
    results['frame_inds'] = np.arange(results['total_frames'])
    frames = np.stack(VideoDecode()(results)['imgs'])
    return dict(config=config, ckpt=ckpt, video=video, frames=frames)


def _read_video(path: str) -> np.ndarray:
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame[..., ::-1])
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return np.stack(frames), fps


def test_demo_writes_the_overlaid_video(demo, setup, tmp_path, capsys):
    out = str(tmp_path / 'out' / 'demo.mp4')
    demo.main([
        setup['video'], setup['config'], setup['ckpt'], '--out', out, '--fps',
        '10'
    ])
    assert 'Wrote' in capsys.readouterr().out
    drawn, fps = _read_video(out)
    frames = setup['frames']
    assert drawn.shape == frames.shape
    assert fps == pytest.approx(10)
    # Away from the legend (top left), each pixel is halfway between the
    # frame and adult-walking's colour (up to mp4 compression).
    expected = 0.5 * frames.astype(float) + 0.5 * np.array(COLORS[18])
    region = (slice(None), slice(40, -2), slice(2, -2))
    error = np.abs(drawn[region].astype(float) - expected[region]).mean()
    untouched = np.abs(frames[region].astype(float) - expected[region]).mean()
    assert error < 12 < untouched


def test_demo_writes_one_frame_as_image(demo, setup, tmp_path):
    out = str(tmp_path / 'frame.png')
    demo.main([
        setup['video'], setup['config'], setup['ckpt'], '--out', out,
        '--frame', '5', '--alpha', '1'
    ])
    drawn = cv2.imread(out)[..., ::-1]
    assert drawn.shape == setup['frames'][5].shape
    # alpha 1: labelled pixels take the colour itself (PNG is lossless);
    # the legend sits top left.
    assert (drawn[40:-2, 2:-2] == np.array(COLORS[18])).all()
    assert (drawn[:12, :40] != np.array(COLORS[18])).any(-1).mean() > 0.1


def test_demo_rejects_bad_arguments(demo, setup, tmp_path):
    with pytest.raises(ValueError, match='--frame 99'):
        demo.main([
            setup['video'], setup['config'], setup['ckpt'], '--out',
            str(tmp_path / 'f.png'), '--frame', '99'
        ])
    with pytest.raises(ValueError, match='expected .mp4'):
        demo.main([
            setup['video'], setup['config'], setup['ckpt'], '--out',
            str(tmp_path / 'f.gif')
        ])
    with pytest.raises(FileNotFoundError, match='nope.mp4'):
        demo.main([
            str(tmp_path / 'nope.mp4'), setup['config'], setup['ckpt'],
            '--out',
            str(tmp_path / 'o.mp4')
        ])
