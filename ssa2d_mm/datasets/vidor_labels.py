"""VidOR label space, annotation reading and box-to-pixel rasterisation.

VidOR (Shang et al., ICMR 2019) annotates objects with box trajectories and
relations ``subject -predicate-> object`` over frame ranges; SSA2D turns them
into pixel labels (``../shared/docs/DATASETS.md``):

- actor map: inside each box of a *subject* (a tid that is the subject of a
  relation), the index of its category in :data:`VIDOR_ACTORS`
  (0 = background, ``i`` = ``VIDOR_CATEGORIES[i - 1]``);
- action map: multi-hot over the predicates of the relations whose subject is
  that box and that are active on that frame (``begin_fid <= f < end_fid``).

Where boxes overlap, larger boxes are drawn first, so a smaller actor in
front of (or held by) a larger one stays visible; a pixel takes the actor
class *and* the action vector of the last box drawn over it.

Category names: the 80 VidOR categories (``xdshang/VidVRD-helper`` builds
the same list by sorting the names found in the annotations). Predicate
order follows the SSA2D authors' code (``aayushjr/ssa2d``): the 42 action
predicates sorted, then the 8 spatial ones sorted, so the action-only label
space is a prefix of the full one and class indices agree between the two.
"""
import json
import math
from typing import Optional, Sequence, Tuple

import numpy as np

from .errors import DataFileError

#: The 80 VidOR object categories, sorted.
VIDOR_CATEGORIES: Tuple[str, ...] = (
    'adult', 'aircraft', 'antelope', 'baby', 'baby_seat', 'baby_walker',
    'backpack', 'ball/sports_ball', 'bat', 'bear', 'bench', 'bicycle', 'bird',
    'bottle', 'bread', 'bus/truck', 'cake', 'camel', 'camera', 'car', 'cat',
    'cattle/cow', 'cellphone', 'chair', 'chicken', 'child', 'crab',
    'crocodile', 'cup', 'dish', 'dog', 'duck', 'electric_fan', 'elephant',
    'faucet', 'fish', 'frisbee', 'fruits', 'guitar', 'hamster/rat', 'handbag',
    'horse', 'kangaroo', 'laptop', 'leopard', 'lion', 'microwave',
    'motorcycle', 'oven', 'panda', 'penguin', 'piano', 'pig', 'rabbit',
    'racket', 'refrigerator', 'scooter', 'screen/monitor', 'sheep/goat',
    'sink', 'skateboard', 'ski', 'snake', 'snowboard', 'sofa', 'squirrel',
    'stingray', 'stool', 'stop_sign', 'suitcase', 'surfboard', 'table',
    'tiger', 'toilet', 'toy', 'traffic_light', 'train', 'turtle', 'vegetables',
    'watercraft')

#: Actor classes of the model: background + the 80 categories (81 classes).
VIDOR_ACTORS: Tuple[str, ...] = ('background', ) + VIDOR_CATEGORIES
NUM_VIDOR_ACTORS = len(VIDOR_ACTORS)

#: The 42 action predicates, sorted (spelled as in the annotation files).
VIDOR_ACTION_PREDICATES: Tuple[str, ...] = (
    'bite', 'caress', 'carry', 'chase', 'clean', 'close', 'cut', 'drive',
    'feed', 'get_off', 'get_on', 'grab', 'hit', 'hold', 'hold_hand_of', 'hug',
    'kick', 'kiss', 'knock', 'lean_on', 'lick', 'lift', 'open', 'pat',
    'play(instrument)', 'point_to', 'press', 'pull', 'push', 'release', 'ride',
    'shake_hand_with', 'shout_at', 'smell', 'speak_to', 'squeeze', 'throw',
    'touch', 'use', 'watch', 'wave', 'wave_hand_to')

#: The 8 spatial predicates, sorted.
VIDOR_SPATIAL_PREDICATES: Tuple[str, ...] = ('above', 'away', 'behind',
                                             'beneath', 'in_front_of',
                                             'inside', 'next_to', 'towards')

#: All 50 predicates: action predicates first, then spatial ones.
VIDOR_PREDICATES: Tuple[str, ...] = (
    VIDOR_ACTION_PREDICATES + VIDOR_SPATIAL_PREDICATES)

IGNORE_INDEX = 255

_CATEGORY_INDEX = {name: i for i, name in enumerate(VIDOR_ACTORS)}


class VidORAnnotationError(DataFileError):
    """A malformed VidOR annotation file: ``file`` and the offending key.

    A :class:`~ssa2d_mm.datasets.DataFileError`, so the datasets' bad-sample
    handling treats it like any other bad file.
    """


def vidor_predicates(action_predicates_only: bool = False) -> Tuple[str, ...]:
    """The predicate list of the action head.

    Args:
        action_predicates_only (bool): Keep the 42 action predicates only.

    Returns:
        tuple[str]: 42 or 50 predicate names, in class-index order.
    """
    return (VIDOR_ACTION_PREDICATES
            if action_predicates_only else VIDOR_PREDICATES)


def _get(obj: dict, key: str, typ: type, path: str, where: str):
    if not isinstance(obj, dict):
        raise VidORAnnotationError(
            path, f'{where} should be an object, got {type(obj).__name__}')
    if key not in obj:
        raise VidORAnnotationError(
            path,
            f'missing key {where}.{key}' if where else f'missing key {key}')
    value = obj[key]
    if typ is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if typ is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, typ) or isinstance(value, bool):
        name = f'{where}.{key}' if where else key
        raise VidORAnnotationError(
            path, f'{name} should be {typ.__name__}, got '
            f'{type(value).__name__} ({value!r:.40})')
    return value


def check_vidor_annotation(anno: dict,
                           path: str = '<annotation>',
                           check_trajectories: bool = True) -> dict:
    """Validate a parsed VidOR annotation.

    Args:
        anno (dict): The parsed JSON.
        path (str): Its file, for error messages.
        check_trajectories (bool): Also check every box (slower on long
            videos). Defaults to True.

    Returns:
        dict: ``anno`` itself, with numeric fields cast to int.

    Raises:
        VidORAnnotationError: naming the file and the offending key.
    """
    for key, typ in (('video_id', (str, int)), ('video_path', str)):
        if key not in anno:
            raise VidORAnnotationError(path, f'missing key {key}')
        if not isinstance(anno[key], typ):
            raise VidORAnnotationError(
                path, f'{key} has type '
                f'{type(anno[key]).__name__}')
    for key in ('frame_count', 'width', 'height'):
        anno[key] = _get(anno, key, int, path, '')
        if anno[key] <= 0:
            raise VidORAnnotationError(
                path, f'{key} must be positive, got {anno[key]}')
    objects = _get(anno, 'subject/objects', list, path, '')
    tids = set()
    for i, obj in enumerate(objects):
        where = f'subject/objects[{i}]'
        tid = _get(obj, 'tid', int, path, where)
        category = _get(obj, 'category', str, path, where)
        if category not in _CATEGORY_INDEX or category == 'background':
            raise VidORAnnotationError(
                path, f'{where}.category {category!r} is not a VidOR '
                'category')
        obj['tid'] = tid
        tids.add(tid)
    trajectories = _get(anno, 'trajectories', list, path, '')
    if check_trajectories:
        for f, frame in enumerate(trajectories):
            if not isinstance(frame, list):
                raise VidORAnnotationError(
                    path, f'trajectories[{f}] should be a list of boxes')
            for j, box in enumerate(frame):
                where = f'trajectories[{f}][{j}]'
                box['tid'] = _get(box, 'tid', int, path, where)
                if box['tid'] not in tids:
                    raise VidORAnnotationError(
                        path, f'{where}.tid {box["tid"]} is not listed in '
                        'subject/objects')
                bbox = _get(box, 'bbox', dict, path, where)
                for key in ('xmin', 'ymin', 'xmax', 'ymax'):
                    _get(bbox, key, float, path, where + '.bbox')
    relations = _get(anno, 'relation_instances', list, path, '')
    for i, rel in enumerate(relations):
        where = f'relation_instances[{i}]'
        for key in ('subject_tid', 'object_tid', 'begin_fid', 'end_fid'):
            rel[key] = _get(rel, key, int, path, where)
        predicate = _get(rel, 'predicate', str, path, where)
        if predicate not in VIDOR_PREDICATES:
            raise VidORAnnotationError(
                path, f'{where}.predicate {predicate!r} is not a VidOR '
                'predicate')
        for key in ('subject_tid', 'object_tid'):
            if rel[key] not in tids:
                raise VidORAnnotationError(
                    path, f'{where}.{key} {rel[key]} is not listed in '
                    'subject/objects')
        if not 0 <= rel['begin_fid'] < rel['end_fid']:
            raise VidORAnnotationError(
                path, f'{where} has begin_fid {rel["begin_fid"]} and '
                f'end_fid {rel["end_fid"]}; need 0 <= begin_fid < end_fid')
    return anno


def load_vidor_annotation(path: str, check_trajectories: bool = True) -> dict:
    """Read and validate one VidOR annotation JSON.

    Args:
        path (str): The ``.json`` file.
        check_trajectories (bool): Also check every box. Defaults to True.

    Returns:
        dict: The annotation (see :func:`check_vidor_annotation`).

    Raises:
        VidORAnnotationError: if the file is not JSON or is malformed.
    """
    try:
        with open(path, 'r') as f:
            anno = json.load(f)
    except json.JSONDecodeError as e:
        raise VidORAnnotationError(path, f'not valid JSON ({e})') from e
    if not isinstance(anno, dict):
        raise VidORAnnotationError(path, 'top level should be an object')
    return check_vidor_annotation(anno, path, check_trajectories)


def rasterize_vidor_clip(
    anno: dict,
    frame_inds: Sequence[int],
    out_shape: Optional[Tuple[int, int]] = None,
    predicates: Sequence[str] = VIDOR_PREDICATES,
    frame_valid: Optional[Sequence[bool]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel labels of a clip from VidOR boxes and relations.

    Boxes are inclusive pixel coordinates (``xmax`` is the last column
    inside, as VidVRD-helper's IoU counts them); with ``out_shape``
    different from the annotated ``(height, width)`` they are scaled and the
    partly covered border pixels are included. Subjects are the tids that
    are the subject of at least one relation whose predicate is in
    ``predicates``.

    Args:
        anno (dict): A checked annotation (:func:`load_vidor_annotation`).
        frame_inds (Sequence[int]): 0-based frame of each clip position.
        out_shape (tuple[int, int], optional): Label size ``(H, W)``.
            Defaults to the annotation's ``(height, width)``.
        predicates (Sequence[str]): Action classes, in index order.
            Defaults to :data:`VIDOR_PREDICATES`.
        frame_valid (Sequence[bool], optional): False marks clip positions
            that lie outside the video (their frame was repeated to fill the
            clip); they are ignored like frames without annotation.

    Returns:
        tuple[np.ndarray, np.ndarray]: Actor map int64 ``(T, H, W)`` (0
        background, 255 on frames outside the video or its annotation) and
        action multi-hot uint8 ``(T, A, H, W)`` (0 where ignored; the actor
        map's 255 is the ignore mask).
    """
    height, width = out_shape or (anno['height'], anno['width'])
    sx, sy = width / anno['width'], height / anno['height']
    pred_index = {p: i for i, p in enumerate(predicates)}
    relations = [
        r for r in anno['relation_instances'] if r['predicate'] in pred_index
    ]
    subjects = {r['subject_tid'] for r in relations}
    category = {
        o['tid']: _CATEGORY_INDEX[o['category']]
        for o in anno['subject/objects']
    }
    trajectories = anno['trajectories']
    num_annotated = min(anno['frame_count'], len(trajectories))

    num_frames = len(frame_inds)
    actor = np.zeros((num_frames, height, width), np.int64)
    action = np.zeros((num_frames, len(predicates), height, width), np.uint8)
    for t, f in enumerate(frame_inds):
        f = int(f)
        if (frame_valid is not None
                and not frame_valid[t]) or not 0 <= f < num_annotated:
            actor[t] = IGNORE_INDEX
            continue
        boxes = []
        for box in trajectories[f]:
            if box['tid'] not in subjects:
                continue
            b = box['bbox']
            area = (b['xmax'] - b['xmin'] + 1) * (b['ymax'] - b['ymin'] + 1)
            boxes.append((area, box['tid'], b))
        # larger boxes first: smaller actors are drawn over them
        for _, tid, b in sorted(boxes, key=lambda x: (-x[0], x[1])):
            x1 = max(0, math.floor(b['xmin'] * sx))
            y1 = max(0, math.floor(b['ymin'] * sy))
            x2 = min(width, math.ceil((b['xmax'] + 1) * sx))
            y2 = min(height, math.ceil((b['ymax'] + 1) * sy))
            if x2 <= x1 or y2 <= y1:
                continue
            actor[t, y1:y2, x1:x2] = category[tid]
            hot = np.zeros(len(predicates), np.uint8)
            for r in relations:
                if r['subject_tid'] == tid and r['begin_fid'] <= f < r[
                        'end_fid']:
                    hot[pred_index[r['predicate']]] = 1
            action[t, :, y1:y2, x1:x2] = hot[:, None, None]
    return actor, action


__all__ = [
    'VIDOR_CATEGORIES', 'VIDOR_ACTORS', 'NUM_VIDOR_ACTORS',
    'VIDOR_ACTION_PREDICATES', 'VIDOR_SPATIAL_PREDICATES', 'VIDOR_PREDICATES',
    'VidORAnnotationError', 'vidor_predicates', 'check_vidor_annotation',
    'load_vidor_annotation', 'rasterize_vidor_clip'
]
