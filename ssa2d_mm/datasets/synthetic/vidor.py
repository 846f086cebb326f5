"""A tiny VidOR-format dataset: moving textured boxes and their relations.

The real VidOR cannot be downloaded on the project's machines; tests and
smoke runs use this generator instead. Its output has VidOR's layout and
JSON schema (``../shared/docs/DATASETS.md``)::

    <out_dir>/annotation/{training,validation}/<XXXX>/<video_id>.json
    <out_dir>/video/<XXXX>/<video_id>.mp4

and exercises the cases the loader must handle: non-contiguous tids, an
empty trajectory list on the first frame, objects leaving the frame,
overlapping boxes, relations active on part of the video, action and
spatial predicates. The same arguments give the same files (JSON and mp4
bytes) on one machine.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from ..vidor_labels import (VIDOR_ACTION_PREDICATES, VIDOR_CATEGORIES,
                            VIDOR_SPATIAL_PREDICATES)

_PEOPLE = ('adult', 'child', 'baby')


def _texture(rng: np.random.Generator, height: int, width: int,
             smooth: float) -> np.ndarray:
    """Smooth random texture ``(H, W, 3)`` uint8, so that flow has
    something to track."""
    noise = rng.random((height, width, 3)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), smooth)
    noise -= noise.min()
    noise /= max(float(noise.max()), 1e-6)
    return (noise * 255).astype(np.uint8)


def _make_objects(rng: np.random.Generator, num_frames: int, width: int,
                  height: int) -> List[dict]:
    num = int(rng.integers(2, 5))
    tids = sorted(int(t) for t in rng.choice(12, num, replace=False))
    objects = []
    for k, tid in enumerate(tids):
        category = (
            _PEOPLE[int(rng.integers(len(_PEOPLE)))] if k == 0 else
            VIDOR_CATEGORIES[int(rng.integers(len(VIDOR_CATEGORIES)))])
        bw = int(rng.integers(width // 6, width // 2))
        bh = int(rng.integers(height // 5, height // 2))
        objects.append(
            dict(
                tid=tid,
                category=category,
                size=(bw, bh),
                start=(float(rng.uniform(-bw / 4, width - bw * 3 / 4)),
                       float(rng.uniform(0, height - bh))),
                velocity=(float(rng.uniform(-2, 2)), float(rng.uniform(-1,
                                                                       1))),
                # frame 0 stays empty: every object appears from frame >= 1
                frames=(int(rng.integers(1, 3)),
                        int(rng.integers(num_frames - 2, num_frames + 1))),
                texture=_texture(rng, bh, bw, 1.0),
                colour=rng.integers(40, 256, 3).astype(np.float32)))
    return objects


def _box_at(obj: dict, f: int, width: int,
            height: int) -> Tuple[int, int, int, int]:
    """Inclusive pixel box of an object on frame ``f`` (may be empty)."""
    bw, bh = obj['size']
    x = int(round(obj['start'][0] + obj['velocity'][0] * f))
    y = int(round(obj['start'][1] + obj['velocity'][1] * f))
    return (max(0, x), max(0, y), min(width - 1,
                                      x + bw - 1), min(height - 1, y + bh - 1))


def _make_relations(rng: np.random.Generator, objects: List[dict],
                    visible: Dict[int, List[int]]) -> List[dict]:
    relations = []
    num = int(rng.integers(2, 5))
    for r in range(num):
        subject = objects[0] if r == 0 else objects[int(
            rng.integers(len(objects)))]
        others = [o for o in objects if o['tid'] != subject['tid']]
        obj = others[int(rng.integers(len(others)))]
        both = sorted(set(visible[subject['tid']]) & set(visible[obj['tid']]))
        if len(both) < 3:
            continue
        if r == 0:  # one action and one spatial relation in every video
            pool = VIDOR_ACTION_PREDICATES
        elif r == 1:
            pool = VIDOR_SPATIAL_PREDICATES
        else:
            pool = VIDOR_ACTION_PREDICATES + VIDOR_SPATIAL_PREDICATES
        begin = int(rng.integers(both[0], both[-1] - 1))
        end = int(rng.integers(begin + 2, both[-1] + 2))
        relations.append(
            dict(
                subject_tid=subject['tid'],
                object_tid=obj['tid'],
                predicate=pool[int(rng.integers(len(pool)))],
                begin_fid=begin,
                end_fid=end))
    return relations


def _make_video(rng: np.random.Generator, video_id: str, video_path: str,
                num_frames: int, width: int, height: int, fps: float,
                video_file: str) -> dict:
    """Write one mp4 and return its VidOR annotation."""
    objects = _make_objects(rng, num_frames, width, height)
    background = _texture(rng, height, width, 3.0)
    trajectories: List[List[dict]] = []
    visible: Dict[int, List[int]] = {o['tid']: [] for o in objects}
    writer = cv2.VideoWriter(video_file, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {video_file} (mp4v)')
    for f in range(num_frames):
        frame = background.copy()
        boxes = []
        for obj in objects:
            first, last = obj['frames']
            if not first <= f < last:
                continue
            x1, y1, x2, y2 = _box_at(obj, f, width, height)
            if x2 < x1 or y2 < y1:
                continue  # out of the frame
            boxes.append((obj, (x1, y1, x2, y2)))
            visible[obj['tid']].append(f)
        # paint larger boxes first, as the labels are drawn
        boxes.sort(
            key=lambda b: -(b[1][2] - b[1][0] + 1) * (b[1][3] - b[1][1] + 1))
        for obj, (x1, y1, x2, y2) in boxes:
            bw, bh = obj['size']
            x = int(round(obj['start'][0] + obj['velocity'][0] * f))
            y = int(round(obj['start'][1] + obj['velocity'][1] * f))
            # the texture moves with the object
            patch = obj['texture'][y1 - y:y2 - y + 1, x1 - x:x2 - x + 1]
            frame[y1:y2 + 1, x1:x2 +
                  1] = (0.4 * patch + 0.6 * obj['colour']).astype(np.uint8)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        trajectories.append([
            dict(
                tid=obj['tid'],
                bbox=dict(xmin=x1, ymin=y1, xmax=x2, ymax=y2),
                generated=0,
                tracker='none')
            for obj, (x1, y1, x2,
                      y2) in sorted(boxes, key=lambda b: b[0]['tid'])
        ])
    writer.release()
    return {
        'version':
        'VERSION 1.0',
        'video_id':
        video_id,
        'video_hash':
        video_id,
        'video_path':
        video_path,
        'frame_count':
        num_frames,
        'fps':
        fps,
        'width':
        width,
        'height':
        height,
        'subject/objects':
        [dict(tid=o['tid'], category=o['category']) for o in objects],
        'trajectories':
        trajectories,
        'relation_instances':
        _make_relations(rng, objects, visible),
    }


def make_synthetic_vidor(out_dir: str,
                         num_train: int = 3,
                         num_val: int = 2,
                         num_frames: int = 24,
                         width: int = 64,
                         height: int = 48,
                         fps: float = 15.0,
                         seed: int = 0) -> Dict[str, List[str]]:
    """Write a tiny VidOR-format dataset.

    Args:
        out_dir (str): Root folder (created).
        num_train (int): Videos in ``training``. Defaults to 3.
        num_val (int): Videos in ``validation``. Defaults to 2.
        num_frames (int): Frames per video. Defaults to 24.
        width (int): Frame width. Defaults to 64.
        height (int): Frame height. Defaults to 48.
        fps (float): Frame rate written in mp4 and JSON. Defaults to 15.
        seed (int): Random seed; same seed, same files. Defaults to 0.

    Returns:
        dict[str, list[str]]: The annotation files written, per split.
    """
    if num_frames < 8:
        raise ValueError(f'num_frames must be >= 8, got {num_frames}')
    if width < 16 or height < 16:
        raise ValueError(f'frames must be at least 16x16, got {width}x'
                         f'{height}')
    written: Dict[str, List[str]] = {}
    index = 0
    for split, count in (('training', num_train), ('validation', num_val)):
        written[split] = []
        # VidOR groups videos in 4-digit folders; two folders per split here
        base = 1000 if split == 'validation' else 0
        for _ in range(count):
            rng = np.random.default_rng([seed, index])
            video_id = str(int(rng.integers(10**9, 10**10)))
            folder = f'{base + index % 2:04d}'
            video_path = f'{folder}/{video_id}.mp4'
            video_file = osp.join(out_dir, 'video', video_path)
            ann_file = osp.join(out_dir, 'annotation', split, folder,
                                f'{video_id}.json')
            os.makedirs(osp.dirname(video_file), exist_ok=True)
            os.makedirs(osp.dirname(ann_file), exist_ok=True)
            anno = _make_video(rng, video_id, video_path, num_frames, width,
                               height, fps, video_file)
            with open(ann_file, 'w') as f:
                json.dump(anno, f, indent=1)
            written[split].append(ann_file)
            index += 1
    return written
