"""tools/analysis/data_throughput.py on a tiny synthetic A2D config."""
import importlib.util
import json
import os.path as osp

import pytest
from mmengine.config import Config

from ssa2d_mm.datasets.synthetic import make_synthetic_a2d

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis', 'data_throughput.py')

CONFIG = '''
default_scope = 'mmaction'
custom_imports = dict(imports=['ssa2d_mm'], allow_failed_imports=False)
randomness = dict(seed=0)
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='A2DDataset',
        data_root={root!r},
        split='train',
        pipeline=[
            dict(type='VideoInit'),
            dict(type='SampleAnnotatedClip', clip_len=4, frame_interval=2),
            dict(type='VideoDecode'),
            dict(type='LoadA2DAnnotation'),
            dict(type='ClipSegResize', scale=(-1, 32)),
            dict(type='ClipSegRandomCrop', size=32),
            dict(type='ClipSegFlip', flip_ratio=0.5),
            dict(type='PackActorActionInputs'),
        ]))
'''


def load_tool():
    spec = importlib.util.spec_from_file_location('data_throughput', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def config_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('throughput')
    make_synthetic_a2d(
        str(tmp), num_videos=3, height=32, width=48, num_frames=8, seed=1)
    path = tmp / 'tiny_a2d.py'
    path.write_text(CONFIG.format(root=str(tmp / 'Release')))
    return str(path)


def test_measure_throughput_counts_clips_and_frames(config_file):
    tool = load_tool()
    result = tool.measure_throughput(
        Config.fromfile(config_file), num_workers=0, num_batches=3, warmup=1)
    assert result['num_workers'] == 0 and result['batch_size'] == 2
    assert result['batches'] == 3
    assert result['clips'] == 6  # the small dataset is cycled
    assert result['frames'] == 6 * 4
    assert result['clips_per_s'] > 0
    assert result['frames_per_s'] == pytest.approx(4 * result['clips_per_s'])
    with pytest.raises(ValueError):
        tool.measure_throughput(Config.fromfile(config_file), num_batches=0)


def test_cli_with_cfg_options(config_file, capsys):
    load_tool().main([
        config_file, '--workers', '0', '--batches', '2', '--warmup', '0',
        '--cfg-options', 'train_dataloader.batch_size=1'
    ])
    lines = capsys.readouterr().out.strip().splitlines()
    assert 'clips/s' in lines[0]
    result = json.loads(lines[-1])
    assert result['batch_size'] == 1 and result['clips'] == 2


def test_measure_throughput_with_worker_processes(config_file):
    result = load_tool().measure_throughput(
        Config.fromfile(config_file), num_workers=1, num_batches=2, warmup=1)
    assert result['num_workers'] == 1 and result['clips'] == 4
