"""tools/eval_a2d.py on a tiny Release-like tree, with hand-computed scores."""
import importlib.util
import json
import os
import os.path as osp

import cv2
import h5py
import numpy as np
import pytest

from ssa2d_mm.datasets.a2d_labels import ids_to_color
from ssa2d_mm.datasets.errors import DataFileError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'eval_a2d.py')
H, W = 6, 9  # not square: a transposition error would show

KEYS = ('actor_miou', 'action_miou', 'joint_miou', 'actor_acc_class',
        'action_acc_class', 'joint_acc_class', 'actor_acc_global',
        'action_acc_global', 'joint_acc_global')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('eval_a2d', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gt_maps():
    """Ground truth per (video, frame): 126 background pixels, 12 of
    adult-walking (18), 4 of bird-jumping (45), 20 of dog-none (79)."""
    a = np.zeros((H, W), np.int64)
    a[1:3, 1:4] = 18
    a[3:5, 5:7] = 45
    b = np.zeros((H, W), np.int64)
    b[0:2, 0:3] = 18
    c = np.zeros((H, W), np.int64)
    c[2:6, 4:9] = 79
    return {
        ('-aBcDeFgH1j', 1): a,
        ('-aBcDeFgH1j', 5): b,
        ('zzzzzzzzzzz', 3): c
    }


def write_mat(path, label_map):
    # MATLAB v7.3 stores column-major doubles: h5py sees (W, H).
    with h5py.File(path, 'w') as f:
        f.create_dataset('reS_id', data=label_map.astype(np.float64).T)
        f.create_dataset('id', data=np.array([[18.0]]))


def write_png(path, ids):
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, ids_to_color(ids)[..., ::-1])


@pytest.fixture()
def release(tmp_path):
    root = tmp_path / 'Release'
    rows = [
        '-aBcDeFgH1j,18,1.0,3.0,6,9,40,2,1',
        'trainvid001,11,0.0,2.0,6,9,30,1,0',
        'zzzzzzzzzzz,79,2.5,4.0,6,9,20,1,1',
    ]
    root.mkdir()
    (root / 'videoset.csv').write_text('\n'.join(rows) + '\n')
    maps = dict(gt_maps())
    maps[('trainvid001', 1)] = np.full((H, W), 11)  # train: not evaluated
    for (vid, fid), label in maps.items():
        mat_dir = root / 'Annotations' / 'mat' / vid
        mat_dir.mkdir(parents=True, exist_ok=True)
        write_mat(str(mat_dir / f'{fid:05d}.mat'), label)
        write_png(
            str(root / 'Annotations' / 'col' / vid / f'{fid:05d}.png'), label)
    return str(root)


def write_predictions(pred_dir, maps):
    for (vid, fid), ids in maps.items():
        write_png(osp.join(pred_dir, vid, f'{fid:05d}.png'), ids)


def test_perfect_predictions(tool, release, tmp_path):
    pred_dir = str(tmp_path / 'pred')
    write_predictions(pred_dir, gt_maps())
    out = str(tmp_path / 'res' / 'results.json')
    tool.main(['--data-root', release, '--pred-dir', pred_dir, '--out', out])
    with open(out) as f:
        results = json.load(f)
    for key in KEYS:
        assert results[key] == 1.0, key
    assert results['num_frames'] == 3 and results['num_videos'] == 2
    assert results['joint_iou']['dog-none'] == 1.0
    assert results['joint_iou']['baby-crawling'] is None
    # The colour PNGs give the same ground truth as the .mat files.
    col = tool.evaluate_a2d_predictions(release, pred_dir, gt_source='col')
    assert all(col[key] == 1.0 for key in KEYS)


def test_known_perturbations(tool, release, tmp_path):
    maps = gt_maps()
    pred = {k: v.copy() for k, v in maps.items()}
    # An empty prediction: 6 pixels of 18 and 4 of 45 become background.
    pred[('-aBcDeFgH1j', 1)][:] = 0
    # One object's action relabelled: adult-walking -> adult-running (6 px).
    pred[('-aBcDeFgH1j', 5)][maps[('-aBcDeFgH1j', 5)] == 18] = 17
    # A region swapped to the invalid pair dog-flying (74), 4 of 20 pixels.
    pred[('zzzzzzzzzzz', 3)][2:6, 4] = 74
    pred_dir = str(tmp_path / 'pred')
    write_predictions(pred_dir, pred)
    res = tool.evaluate_a2d_predictions(release, pred_dir)

    bg_iou = 126 / (126 + 136 - 126)  # 10 foreground pixels became bg
    # joint: IoU 0 -> 126/136, 18 -> 0, 45 -> 0, 79 -> 16/20
    assert res['joint_miou'] == pytest.approx((bg_iou + 0 + 0 + 0.8) / 4)
    assert res['joint_acc_class'] == pytest.approx((1 + 0 + 0 + 0.8) / 4)
    assert res['joint_acc_global'] == pytest.approx(142 / 162)
    # actor: 17 is still an adult (6/12), 74 still a dog (20/20)
    assert res['actor_miou'] == pytest.approx((bg_iou + 0.5 + 0 + 1) / 4)
    assert res['actor_acc_class'] == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert res['actor_acc_global'] == pytest.approx(152 / 162)
    # action: walking 0, jumping 0, none 16/20
    assert res['action_miou'] == pytest.approx((bg_iou + 0 + 0 + 0.8) / 4)
    assert res['action_acc_class'] == pytest.approx(0.45)
    assert res['action_acc_global'] == pytest.approx(142 / 162)
    assert res['actor_iou']['adult'] == pytest.approx(0.5)
    assert res['joint_iou']['dog-none'] == pytest.approx(0.8)


def test_errors_name_the_file(tool, release, tmp_path):
    pred_dir = str(tmp_path / 'pred')
    maps = gt_maps()
    write_predictions(pred_dir, maps)
    missing = osp.join(pred_dir, 'zzzzzzzzzzz', '00003.png')
    os.remove(missing)
    with pytest.raises(DataFileError, match='prediction not found') as err:
        tool.evaluate_a2d_predictions(release, pred_dir)
    assert err.value.file == missing

    # Wrong size.
    write_png(missing, np.zeros((H, W + 1), np.int64))
    with pytest.raises(
            DataFileError,
            match=r'\(6, 10\) differs from the ground truth size '
            r'\(6, 9\)') as err:
        tool.evaluate_a2d_predictions(release, pred_dir)
    assert err.value.file == missing

    # A colour outside the table.
    rgb = ids_to_color(maps[('zzzzzzzzzzz', 3)])
    rgb[4, 7] = (12, 34, 56)
    cv2.imwrite(missing, rgb[..., ::-1])
    with pytest.raises(
            DataFileError,
            match=r'colour RGB \(12, 34, 56\) at pixel '
            r'\(x=7, y=4\)') as err:
        tool.evaluate_a2d_predictions(release, pred_dir)
    assert err.value.file == missing

    # The command line exits with the message.
    with pytest.raises(SystemExit, match='00003.png'):
        tool.main(['--data-root', release, '--pred-dir', pred_dir])
