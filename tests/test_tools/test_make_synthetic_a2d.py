"""tools/data/make_synthetic_a2d.py: the CLI writes a loadable release."""
import importlib.util
import os.path as osp

from mmaction.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'data', 'make_synthetic_a2d.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('make_synthetic_a2d', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_release(tmp_path, capsys):
    out = str(tmp_path / 'a2d')
    load_tool().main([
        out, '--videos', '3', '--seed', '7', '--height', '32', '--width', '64',
        '--frames', '8'
    ])
    assert 'Wrote' in capsys.readouterr().out
    root = osp.join(out, 'Release')
    with open(osp.join(root, 'videoset.csv')) as f:
        rows = [line.split(',') for line in f.read().splitlines()]
    assert len(rows) == 3
    assert all(r[4:7] == ['32', '64', '8'] for r in rows)
    total = sum(int(r[7]) for r in rows)
    train = DATASETS.build(
        dict(type='A2DDataset', data_root=root, pipeline=[], split='train'))
    test = DATASETS.build(
        dict(type='A2DDataset', data_root=root, pipeline=[], split='test'))
    assert len(train) + len(test) == total and len(test) > 0
