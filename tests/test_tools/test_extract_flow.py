"""tools/data/extract_flow.py: the CLI extracts, then skips, a VidOR set."""
import importlib.util
import json
import os
import os.path as osp

from ssa2d_mm.datasets.flow import DONE_MARKER
from ssa2d_mm.datasets.synthetic import make_synthetic_vidor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'data', 'extract_flow.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('extract_flow', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_extracts_then_skips(tmp_path, capsys):
    root = str(tmp_path / 'vidor')
    written = make_synthetic_vidor(
        root, num_train=2, num_val=0, num_frames=8, width=32, height=24)
    out = str(tmp_path / 'vidor' / 'flow')
    args = [
        '--data-root', root, '--out', out, '--videos', 'video/*/*.mp4',
        '--method', 'dis', '--bound', '15'
    ]
    tool = load_tool()
    tool.main(args)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['videos'] == 2 and summary['extracted'] == 2
    assert summary['flow_frames'] == 2 * 7
    for ann in written['training']:
        anno = json.load(open(ann))
        flow_dir = osp.join(out, osp.splitext(anno['video_path'])[0])
        marker = json.load(open(osp.join(flow_dir, DONE_MARKER)))
        assert marker['bound'] == 15 and marker['num_flows'] == 7
        assert osp.isfile(osp.join(flow_dir, 'flow_y_00007.jpg'))
        assert not osp.exists(osp.join(flow_dir, 'flow_x_00008.jpg'))
    first = osp.join(flow_dir, 'flow_x_00001.jpg')
    mtime = os.stat(first).st_mtime_ns

    tool.main(args)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['skipped'] == 2 and summary['extracted'] == 0
    assert os.stat(first).st_mtime_ns == mtime
