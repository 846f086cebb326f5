"""tools/data/a2d_summary.py on synthetic releases with known defects."""
import importlib.util
import json
import os
import os.path as osp
import shutil

import h5py
import numpy as np
import pytest

from ssa2d_mm.datasets.errors import DataFileError
from ssa2d_mm.datasets.synthetic import make_synthetic_a2d, write_a2d_mat

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'data', 'a2d_summary.py')
H, W, F = 32, 64, 10


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('a2d_summary', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def a2d(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('a2d'))
    return make_synthetic_a2d(
        out, num_videos=4, seed=4, height=H, width=W, num_frames=F)


def counts(a2d, split):
    videos = [v for v in a2d['videos'] if v['split'] == split]
    n = sum(len(v['labels']) for v in videos)
    return dict(
        videos_listed=len(videos),
        videos_found=len(videos),
        annotated_frames_listed=n,
        annotations_found=n)


def test_clean_release(tool, a2d):
    summary = tool.summarize(a2d['release_dir'])
    assert summary['problems'] == []
    assert summary['train'] == counts(a2d, 'train')
    assert summary['test'] == counts(a2d, 'test')
    assert tool.summarize(a2d['release_dir'], 'col') == summary


def test_more_videos_listed_than_present(tool, a2d, tmp_path):
    root = str(tmp_path / 'Release')
    shutil.copytree(a2d['release_dir'], root)
    # two extra rows (one train, one test) whose files do not exist
    with open(osp.join(root, 'videoset.csv'), 'a') as f:
        f.write('-missing0001,18,0,2,32,64,10,3,0\n')
        f.write('missing0002,45,0,2,32,64,10,2,1\n')
    # and a listed video whose mp4 was lost (its annotations remain)
    lost = next(v for v in a2d['videos'] if v['split'] == 'train')
    os.remove(osp.join(root, 'clips320H', lost['vid'] + '.mp4'))
    out = str(tmp_path / 'summary.json')
    tool.main(['--data-root', root, '--out', out])
    with open(out) as f:
        summary = json.load(f)

    train, test = counts(a2d, 'train'), counts(a2d, 'test')
    assert summary['train'] == dict(
        videos_listed=train['videos_listed'] + 1,
        videos_found=train['videos_found'] - 1,
        annotated_frames_listed=train['annotated_frames_listed'] + 3,
        annotations_found=train['annotations_found'])
    assert summary['test'] == dict(
        videos_listed=test['videos_listed'] + 1,
        videos_found=test['videos_found'],
        annotated_frames_listed=test['annotated_frames_listed'] + 2,
        annotations_found=test['annotations_found'])
    files = {p['file']: p['problem'] for p in summary['problems']}
    for vid in ('-missing0001', 'missing0002', lost['vid']):
        mp4 = osp.join(root, 'clips320H', vid + '.mp4')
        assert 'video file not found' in files[mp4]
    for vid, n in (('-missing0001', 3), ('missing0002', 2)):
        folder = osp.join(root, 'Annotations', 'mat', vid)
        assert files[folder] == (f'videoset.csv lists {n} annotated frames, '
                                 'annotation folder not found')
    assert len(summary['problems']) == 5


def test_bad_annotations_are_reported(tool, a2d, tmp_path):
    root = str(tmp_path / 'Release')
    shutil.copytree(a2d['release_dir'], root)
    v0, v1, v2 = a2d['videos'][:3]

    def mat(video, fid):
        return osp.join(root, 'Annotations', 'mat', video['vid'],
                        f'{fid:05d}.mat')

    # unknown label id
    f0 = min(v0['labels'])
    with h5py.File(mat(v0, f0), 'r+') as f:
        ids = f['reS_id'][()]
        ids[0, 0] = 99
        f['reS_id'][...] = ids
    # wrong size
    f1 = min(v1['labels'])
    small = np.zeros((H - 2, W), np.int64)
    small[3:7, 3:9] = 18
    write_a2d_mat(mat(v1, f1), small, small[None] > 0, [18])
    # truncated
    f2 = min(v2['labels'])
    data = open(mat(v2, f2), 'rb').read()
    with open(mat(v2, f2), 'wb') as f:
        f.write(data[:600])

    summary = tool.summarize(root)
    files = {p['file']: p['problem'] for p in summary['problems']}
    assert len(files) == 3
    assert 'label ids [99]' in files[mat(v0, f0)]
    assert f'{(H - 2, W)}' in files[mat(v1, f1)]
    assert f'{(H, W)}' in files[mat(v1, f1)]
    assert 'unreadable MATLAB v7.3' in files[mat(v2, f2)]
    # the files are present: they count as found
    assert summary['train']['annotations_found'] + summary['test'][
        'annotations_found'] == sum(len(v['labels']) for v in a2d['videos'])


def test_missing_videoset(tool, tmp_path):
    with pytest.raises(DataFileError, match='video list not found'):
        tool.summarize(str(tmp_path))
