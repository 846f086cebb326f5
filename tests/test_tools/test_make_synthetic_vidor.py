"""tools/data/make_synthetic_vidor.py: the CLI writes a loadable set."""
import glob
import importlib.util
import json
import os.path as osp

from mmaction.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'data', 'make_synthetic_vidor.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('make_synthetic_vidor', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_vidor_layout(tmp_path, capsys):
    out = str(tmp_path / 'cli')
    load_tool().main([
        out, '--num-train', '1', '--num-val', '1', '--frames', '10', '--width',
        '32', '--height', '24', '--seed', '5'
    ])
    assert 'training: 1 videos' in capsys.readouterr().out
    anno_files = sorted(glob.glob(osp.join(out, 'annotation/*/*/*.json')))
    assert len(anno_files) == 2
    anno = json.load(open(anno_files[0]))
    assert (anno['width'], anno['height'], anno['frame_count']) == (32, 24, 10)
    assert osp.isfile(osp.join(out, 'video', anno['video_path']))
    ds = DATASETS.build(
        dict(
            type='VidORDataset',
            data_root=out,
            ann_file='annotation/validation',
            pipeline=[]))
    assert len(ds) > 0
