import copy
import json

import numpy as np
import pytest

from ssa2d_mm.datasets import DataFileError
from ssa2d_mm.datasets.vidor_labels import (
    VIDOR_ACTION_PREDICATES, VIDOR_ACTORS, VIDOR_CATEGORIES, VIDOR_PREDICATES,
    VIDOR_SPATIAL_PREDICATES, VidORAnnotationError, check_vidor_annotation,
    load_vidor_annotation, rasterize_vidor_clip, vidor_predicates)

ADULT = VIDOR_ACTORS.index('adult')
DOG = VIDOR_ACTORS.index('dog')
CAT = VIDOR_ACTORS.index('cat')
P = {p: i for i, p in enumerate(VIDOR_PREDICATES)}


def box(tid, x1, y1, x2, y2):
    return dict(
        tid=tid,
        bbox=dict(xmin=x1, ymin=y1, xmax=x2, ymax=y2),
        generated=0,
        tracker='none')


def rel(s, o, predicate, begin, end):
    return dict(
        subject_tid=s,
        object_tid=o,
        predicate=predicate,
        begin_fid=begin,
        end_fid=end)


def make_anno():
    """10x8 video, 4 frames; tids 1 adult, 3 cat, 5 dog, 7 chair, 9 ball."""
    return {
        'version':
        'VERSION 1.0',
        'video_id':
        '123',
        'video_path':
        '0000/123.mp4',
        'frame_count':
        4,
        'fps':
        30,
        'width':
        10,
        'height':
        8,
        'subject/objects': [
            dict(tid=1, category='adult'),
            dict(tid=3, category='cat'),
            dict(tid=5, category='dog'),
            dict(tid=7, category='chair'),
            dict(tid=9, category='ball/sports_ball'),
        ],
        'trajectories': [
            [],  # frame 0: nothing annotated
            [
                box(7, 6, 0, 9, 7),  # chair: an object only, stays background
                box(5, 3, 3, 4, 4),  # dog inside the adult's box
                box(1, 0, 0, 5, 5),
                box(3, 0, 7, 1, 7),
            ],
            [box(1, 0, 0, 5, 5), box(5, 8, 6, 9, 7)],
            [box(9, 1, 1, 2, 2)],  # ball: subject of no relation
        ],
        'relation_instances': [
            rel(1, 5, 'hold', 1, 3),
            rel(1, 7, 'next_to', 2, 4),
            rel(5, 7, 'bite', 1, 2),
            rel(5, 1, 'watch', 2, 3),
            rel(3, 7, 'above', 0, 4),
        ],
    }


def hot(*names, predicates=VIDOR_PREDICATES):
    v = np.zeros(len(predicates), np.uint8)
    for n in names:
        v[predicates.index(n)] = 1
    return v


def test_label_space_constants():
    assert len(VIDOR_CATEGORIES) == 80
    assert list(VIDOR_CATEGORIES) == sorted(VIDOR_CATEGORIES)
    assert VIDOR_ACTORS[0] == 'background' and len(VIDOR_ACTORS) == 81
    assert len(VIDOR_ACTION_PREDICATES) == 42
    assert set(VIDOR_SPATIAL_PREDICATES) == {
        'above', 'away', 'behind', 'beneath', 'in_front_of', 'inside',
        'next_to', 'towards'
    }
    assert len(set(VIDOR_PREDICATES)) == 50
    assert VIDOR_PREDICATES[:42] == VIDOR_ACTION_PREDICATES
    assert vidor_predicates(True) == VIDOR_ACTION_PREDICATES
    assert 'play(instrument)' in VIDOR_ACTION_PREDICATES


def test_rasterize_overlap_partial_relations_and_empty_frames():
    anno = check_vidor_annotation(make_anno())
    actor, action = rasterize_vidor_clip(anno, [0, 1, 2, 3])
    assert actor.shape == (4, 8, 10) and actor.dtype == np.int64
    assert action.shape == (4, 50, 8, 10) and action.dtype == np.uint8

    # frame 0: empty trajectory list -> all background, no action
    assert np.all(actor[0] == 0) and not action[0].any()

    # frame 1: the small dog is drawn over the large adult
    expected = np.zeros((8, 10), np.int64)
    expected[0:6, 0:6] = ADULT
    expected[3:5, 3:5] = DOG
    expected[7, 0:2] = CAT  # subject of a spatial relation
    np.testing.assert_array_equal(actor[1], expected)
    # adult: 'hold' active on 1..2; 'next_to' starts on frame 2
    np.testing.assert_array_equal(action[1, :, 0, 0], hot('hold'))
    # dog: 'bite' only on frame 1 (replaces the adult's vector)
    np.testing.assert_array_equal(action[1, :, 3, 3], hot('bite'))
    np.testing.assert_array_equal(action[1, :, 7, 0], hot('above'))
    # the chair (object only) stays background with no action
    assert actor[1, 0, 9] == 0 and not action[1, :, 0, 9].any()

    # frame 2: adult holds and is next to the chair; the dog watches
    np.testing.assert_array_equal(action[2, :, 2, 2], hot('hold', 'next_to'))
    assert np.all(actor[2, 6:8, 8:10] == DOG)
    np.testing.assert_array_equal(action[2, :, 7, 9], hot('watch'))
    assert actor[2, 7, 0] == 0  # the cat has no box on frame 2

    # frame 3: only the ball, which is nobody's subject
    assert np.all(actor[3] == 0) and not action[3].any()


def test_rasterize_frames_outside_video_are_ignored():
    anno = check_vidor_annotation(make_anno())
    actor, action = rasterize_vidor_clip(
        anno, [1, 1, 3, 4], frame_valid=[False, True, True, True])
    assert np.all(actor[0] == 255)  # repeated edge frame
    assert np.all(actor[3] == 255)  # index 4 is past frame_count
    assert actor[1, 0, 0] == ADULT
    assert not action[0].any() and not action[3].any()


def test_rasterize_action_predicates_only():
    anno = check_vidor_annotation(make_anno())
    preds = vidor_predicates(True)
    actor, action = rasterize_vidor_clip(anno, [1, 2], predicates=preds)
    assert action.shape == (2, 42, 8, 10)
    np.testing.assert_array_equal(action[1, :, 2, 2],
                                  hot('hold', predicates=preds))
    # the cat is the subject of a spatial relation only: not an actor here
    assert actor[0, 7, 0] == 0


def test_rasterize_scales_boxes_to_frame_size():
    anno = check_vidor_annotation(make_anno())
    actor, action = rasterize_vidor_clip(anno, [2], out_shape=(16, 20))
    assert actor.shape == (1, 16, 20)
    ys, xs = np.nonzero(actor[0] == ADULT)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (0, 11, 0, 11)
    assert np.all(actor[0, 12:16, 16:20] == DOG)


def test_load_annotation_errors_name_file_and_key(tmp_path):
    path = tmp_path / 'bad.json'

    def check(anno, pattern):
        path.write_text(json.dumps(anno))
        with pytest.raises(VidORAnnotationError, match=pattern) as info:
            load_vidor_annotation(str(path))
        assert str(path) in str(info.value)
        assert isinstance(info.value, DataFileError)
        assert info.value.file == str(path)

    anno = make_anno()
    del anno['frame_count']
    check(anno, 'missing key frame_count')
    anno = make_anno()
    anno['subject/objects'][1]['category'] = 'unicorn'
    check(anno, r'subject/objects\[1\].category')
    anno = make_anno()
    anno['relation_instances'][2]['predicate'] = 'juggle'
    check(anno, r'relation_instances\[2\].predicate')
    anno = make_anno()
    anno['relation_instances'][0]['subject_tid'] = 42
    check(anno, r'relation_instances\[0\].subject_tid 42')
    anno = make_anno()
    anno['relation_instances'][1]['end_fid'] = 2
    check(anno, r'relation_instances\[1\] has begin_fid 2 and end_fid 2')
    anno = make_anno()
    del anno['trajectories'][1][2]['bbox']['ymax']
    check(anno, r'missing key trajectories\[1\]\[2\].bbox.ymax')
    anno = make_anno()
    anno['trajectories'][2][0]['bbox']['xmin'] = 'left'
    check(anno, r'trajectories\[2\]\[0\].bbox.xmin should be float')
    path.write_text('{"video_id": ')
    with pytest.raises(VidORAnnotationError, match='not valid JSON'):
        load_vidor_annotation(str(path))


def test_check_does_not_need_trajectories_when_told():
    anno = make_anno()
    anno['trajectories'][1][0] = dict(tid=7)
    check_vidor_annotation(copy.deepcopy(anno), check_trajectories=False)
    with pytest.raises(VidORAnnotationError):
        check_vidor_annotation(anno)
