import glob
import json
import os.path as osp

import pytest

from ssa2d_mm.datasets.synthetic import make_synthetic_vidor
from ssa2d_mm.datasets.vidor_labels import (VIDOR_ACTION_PREDICATES,
                                            VIDOR_SPATIAL_PREDICATES,
                                            load_vidor_annotation)


@pytest.fixture(scope='module')
def vidor_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('vidor'))
    make_synthetic_vidor(root, num_train=3, num_val=1, seed=3)
    return root


def test_synthetic_layout_and_determinism(vidor_root, tmp_path):
    files = sorted(glob.glob(f'{vidor_root}/annotation/*/*/*.json'))
    assert len(files) == 4
    for path in files:
        anno = json.load(open(path))
        assert anno['version'] == 'VERSION 1.0'
        video = osp.join(vidor_root, 'video', anno['video_path'])
        assert osp.isfile(video)
        assert anno['video_path'].split('/')[0] == path.split('/')[-2]
        assert len(anno['trajectories']) == anno['frame_count']
        assert anno['trajectories'][0] == []
        assert anno['relation_instances']
    # same seed, same bytes; other seed, other data
    again = tmp_path / 'again'
    make_synthetic_vidor(str(again), num_train=3, num_val=1, seed=3)
    for path in files:
        rel = osp.relpath(path, vidor_root)
        assert open(again / rel).read() == open(path).read()
        anno = json.load(open(path))
        video = osp.join('video', anno['video_path'])
        assert (again / video).read_bytes() == open(
            osp.join(vidor_root, video), 'rb').read()
    other = tmp_path / 'other'
    make_synthetic_vidor(str(other), num_train=1, num_val=0, seed=4)
    assert not glob.glob(str(other / osp.relpath(files[0], vidor_root)))


def test_synthetic_annotations_are_valid_and_varied(vidor_root):
    predicates = set()
    tids = []
    for path in glob.glob(f'{vidor_root}/annotation/*/*/*.json'):
        anno = load_vidor_annotation(path)  # raises if malformed
        predicates |= {r['predicate'] for r in anno['relation_instances']}
        tids += [o['tid'] for o in anno['subject/objects']]
    assert predicates & set(VIDOR_ACTION_PREDICATES)
    assert predicates & set(VIDOR_SPATIAL_PREDICATES)
    assert tids != list(range(len(tids)))  # not 0..n-1 everywhere


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        make_synthetic_vidor(str(tmp_path), num_frames=4)
    with pytest.raises(ValueError):
        make_synthetic_vidor(str(tmp_path), width=8)
