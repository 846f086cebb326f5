"""Evaluate A2D predictions in the official form against the test split.

The official form is one colour-coded RGB PNG per annotated test frame, at
full size, coloured with the A2D table (``Release/README``)::

    PRED_DIR/<video_id>/<frame_id:05d>.png

(``tools/test.py --out-dir PRED_DIR`` writes exactly that). Every annotated
frame of every test video (``videoset.csv`` column ``test`` == 1) is
evaluated; the ground truth is ``Annotations/mat`` (or ``Annotations/col``
with ``--gt-source col``). The scores are those of the reference evaluation
(``vic_eval_segmentation.m``; see
:mod:`ssa2d_mm.evaluation.functional.a2d_protocol`, the same code that
:class:`~ssa2d_mm.evaluation.ActorActionMetric` runs)::

    python tools/eval_a2d.py --data-root data/a2d/Release \
        --pred-dir work_dirs/ssa2d/a2d_preds --out results.json
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

import mmcv
import numpy as np
from mmengine.utils import mkdir_or_exist

from ssa2d_mm.datasets.a2d_dataset import (list_annotated_frames,
                                           load_videoset)
from ssa2d_mm.datasets.a2d_labels import ACTIONS, ACTORS, color_to_ids
from ssa2d_mm.datasets.errors import DataFileError
from ssa2d_mm.datasets.transforms.loading import read_a2d_annotation
from ssa2d_mm.evaluation.functional import (A2D_RESULT_KEYS, JOINT_CLASS_NAMES,
                                            NUM_PROTOCOL_CLASSES,
                                            a2d_confusion_matrix, a2d_metrics,
                                            format_a2d_tables)

_GT_EXT = {'mat': '.mat', 'col': '.png'}


def read_prediction(file: str, gt_shape: tuple) -> np.ndarray:
    """Read one official-form prediction into joint ids.

    Args:
        file (str): ``PRED_DIR/<video_id>/<frame_id:05d>.png``.
        gt_shape (tuple): ``(H, W)`` of the ground truth of that frame.

    Returns:
        np.ndarray: int64 ``(H, W)`` joint ids.

    Raises:
        DataFileError: naming the file: missing, unreadable, not RGB, of
            another size than the ground truth, or with a colour outside the
            A2D table (the colour and one pixel are named).
    """
    if not osp.isfile(file):
        raise DataFileError(
            file, 'prediction not found (expected one colour-coded PNG per '
            'annotated test frame: <pred-dir>/<video_id>/<frame_id:05d>.png)')
    # 'unchanged' keeps a grey or 16-bit PNG recognisable (and is BGR(A)).
    img = mmcv.imread(file, flag='unchanged')
    if img is None:
        raise DataFileError(file, 'unreadable image')
    if img.ndim != 3 or img.shape[2] not in (3, 4) or img.dtype != np.uint8:
        raise DataFileError(
            file, f'expected an 8-bit RGB colour-coded PNG, got shape '
            f'{img.shape} and type {img.dtype}')
    if img.shape[:2] != tuple(gt_shape):
        raise DataFileError(
            file, f'prediction size (H, W) = {img.shape[:2]} differs from '
            f'the ground truth size {tuple(gt_shape)}: predictions must be at '
            'the original (full) frame size')
    img = np.ascontiguousarray(img[..., 2::-1])  # BGR(A) -> RGB
    ids, unknown = color_to_ids(img)
    if unknown.any():
        y, x = np.argwhere(unknown)[0]
        raise DataFileError(
            file, f'colour RGB {tuple(int(c) for c in img[y, x])} at '
            f'pixel (x={x}, y={y}) is not in the A2D colour table '
            f'({int(unknown.sum())} such pixels)')
    return ids


def _named(values: np.ndarray, names) -> Dict[str, Optional[float]]:
    return {
        name: None if np.isnan(v) else float(v)
        for name, v in zip(names, values)
    }


def evaluate_a2d_predictions(data_root: str,
                             pred_dir: str,
                             gt_source: str = 'mat') -> dict:
    """Evaluate a folder of official-form predictions on A2D's test split.

    Args:
        data_root (str): The ``Release`` folder (``videoset.csv``,
            ``Annotations/``).
        pred_dir (str): Folder of ``<video_id>/<frame_id:05d>.png``.
        gt_source (str): ``'mat'`` (``Annotations/mat``) or ``'col'``
            (``Annotations/col``). Defaults to ``'mat'``.

    Returns:
        dict: the scalars of ``A2D_RESULT_KEYS`` (fractions in [0, 1]),
        ``num_videos`` and ``num_frames`` evaluated, and per-class IoUs
        ``actor_iou``, ``action_iou``, ``joint_iou`` as ``{name: value}``
        (None for classes without ground truth).

    Raises:
        DataFileError: naming the offending file (see
            :func:`read_prediction`), or if no test frame is annotated.
    """
    if gt_source not in _GT_EXT:
        raise ValueError(f"gt_source must be 'mat' or 'col', got "
                         f'{gt_source!r}')
    videoset = osp.join(data_root, 'videoset.csv')
    test_videos = [r for r in load_videoset(videoset) if r['test'] == 1]
    n = NUM_PROTOCOL_CLASSES
    confusion = np.zeros((n, n), dtype=np.int64)
    num_frames, num_videos = 0, 0
    for row in test_videos:
        vid = row['vid']
        ann_dir = osp.join(data_root, 'Annotations', gt_source, vid)
        fids = list_annotated_frames(ann_dir, gt_source)
        # As the reference: a test video is evaluated on the annotation
        # files it has.
        num_videos += bool(fids)
        for fid in fids:
            gt_file = osp.join(ann_dir, f'{fid:05d}{_GT_EXT[gt_source]}')
            gt = read_a2d_annotation(gt_file, gt_source)
            pred_file = osp.join(pred_dir, vid, f'{fid:05d}.png')
            pred = read_prediction(pred_file, gt.shape)
            try:
                confusion += a2d_confusion_matrix(gt, pred)
            except ValueError as err:
                raise DataFileError(gt_file, str(err)) from err
            num_frames += 1
    if num_frames == 0:
        raise DataFileError(
            videoset, f'no annotated test frame found under '
            f'{osp.join(data_root, "Annotations", gt_source)}')
    scores = a2d_metrics(confusion)
    results = {key: float(scores[key]) for key in A2D_RESULT_KEYS}
    results.update(
        num_videos=num_videos,
        num_frames=num_frames,
        actor_iou=_named(scores['actor_iou'], ACTORS),
        action_iou=_named(scores['action_iou'], ACTIONS),
        joint_iou=_named(scores['joint_iou'], JOINT_CLASS_NAMES))
    results['_tables'] = format_a2d_tables(scores)
    return results


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate official-form A2D predictions (colour PNGs) on '
        'the test split with the A2D protocol')
    parser.add_argument(
        '--data-root',
        required=True,
        help='A2D Release folder (videoset.csv, Annotations/)')
    parser.add_argument(
        '--pred-dir',
        required=True,
        help='predictions: <pred-dir>/<video_id>/<frame_id:05d>.png')
    parser.add_argument(
        '--gt-source',
        choices=sorted(_GT_EXT),
        default='mat',
        help='ground truth from Annotations/mat (default) or Annotations/col')
    parser.add_argument('--out', help='write the results to this JSON file')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    try:
        results = evaluate_a2d_predictions(args.data_root, args.pred_dir,
                                           args.gt_source)
    except DataFileError as err:
        sys.exit(f'error: {err}')
    tables = results.pop('_tables')
    print(f'{results["num_frames"]} frames of {results["num_videos"]} test '
          'videos; actor / action / joint per-class results (%):')
    for table in tables:
        print(table)
    if args.out:
        out_dir = osp.dirname(osp.abspath(args.out))
        mkdir_or_exist(out_dir)
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
        print(f'results written to {args.out}')
    return results


if __name__ == '__main__':
    main()
