"""A synthetic A2D ``Release/`` tree in the real on-disk formats.

The real A2D cannot be downloaded here, so tests and the demo training use
this generator. It writes every file the way the real release stores it
(see ``../shared/docs/DATASETS.md``)::

    <out_dir>/Release/
      README                           text, with the label table rows
                                       ``NAME ID Valid R G B``
      videoset.csv                     9 columns, no header
      clips320H/<vid>.mp4              OpenCV mp4v (decord, PyAV, OpenCV)
      Annotations/mat/<vid>/<fid>.mat  MATLAB v7.3 (HDF5 + 512-byte header)
      Annotations/col/<vid>/<fid>.png  colour-coded labels

``clips320H`` is the real folder name; the synthetic frames are
``height x width`` (default 96 x 128), not 320 pixels high. (decord 0.6.0
fails to decode some widths, e.g. 48 and 72, of OpenCV's mp4v files; the
pipeline's ``VideoDecode`` then falls back to PyAV.)

What the videos show is built to be learnable by a small 3D CNN at low
resolution: each actor class has its own shape, colour and texture; each
action its own large motion over time; a clip shows 1 to 3 actors (only the
43 valid A2D pairs) on a textured, noisy background:

=========  ===================================================
action     motion
=========  ===================================================
climbing   straight up
crawling   slow horizontal, low in the frame, squashed, pulsing
eating     in place, size pulsating
flying     diagonal, upwards
jumping    vertical bounces
rolling    horizontal with rotation (rolls without slipping)
running    fast horizontal (turns back at the frame border)
walking    slow horizontal (turns back at the frame border)
none       static
=========  ===================================================

Everything is drawn from ``numpy.random.default_rng(seed)``, and the files
carry no time stamps, so a seed gives byte-identical files.

Assumptions about the real files (not verifiable offline): the README's
exact prose, the ``timestart``/``timeend`` units (seconds), ``reBBox`` in
1-based MATLAB pixel coordinates, ``class`` as a MATLAB cell of
``'actor-action'`` names and ``reS_col`` as a uint8 ``H x W x 3`` image.
The loaders read only ``reS_id`` (and optionally ``reMask``, ``id``,
``reBBox``), whose layouts DATASETS.md documents.
"""
import csv
import json
import math
import os
import os.path as osp
import string
from typing import Dict, List, Sequence, Tuple

import cv2
import h5py
import numpy as np

from ..a2d_labels import ACTIONS, ACTORS, COLORS, VALID_JOINT_IDS, ids_to_color

#: Actor look: polygon in unit coordinates ([-1, 1]^2), aspect (w, h) of
#: the unit size, RGB colour, texture name.
_ACTOR_STYLES: Dict[int, dict] = {
    1:
    dict(
        shape='rect',
        aspect=(0.55, 1.3),
        color=(230, 40, 40),
        texture='hstripes'),  # adult
    2:
    dict(
        shape='hexagon',
        aspect=(0.8, 0.8),
        color=(255, 150, 215),
        texture='dots'),  # baby
    3:
    dict(
        shape='circle',
        aspect=(0.75, 0.75),
        color=(255, 150, 0),
        texture='sectors'),  # ball
    4:
    dict(
        shape='triangle',
        aspect=(1.2, 0.8),
        color=(40, 90, 255),
        texture='dstripes'),  # bird
    5:
    dict(
        shape='car',
        aspect=(1.5, 0.75),
        color=(240, 230, 40),
        texture='checker'),  # car
    6:
    dict(
        shape='diamond',
        aspect=(0.95, 0.95),
        color=(170, 60, 235),
        texture='vstripes'),  # cat
    7:
    dict(
        shape='circle',
        aspect=(1.35, 0.8),
        color=(40, 215, 200),
        texture='rings'),  # dog
}


def _polygon(name: str) -> np.ndarray:
    """Unit polygon ``(P, 2)`` (x right, y down) of a shape name."""
    if name == 'rect':
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64)
    if name == 'diamond':
        return np.array([[0, -1], [1, 0], [0, 1], [-1, 0]], np.float64)
    if name == 'triangle':
        return np.array([[-1, 1], [1, 1], [0, -1]], np.float64)
    if name == 'car':
        return np.array([[-1, 1], [1, 1], [1, 0], [0.5, 0], [0.3, -1],
                         [-0.5, -1], [-0.7, 0], [-1, 0]], np.float64)
    sides = {'hexagon': 6, 'circle': 32}[name]
    angles = 2 * np.pi * np.arange(sides) / sides
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _texture(name: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Texture in [0, 1] at actor-local coordinates ``u, v`` in [-1, 1]."""
    if name == 'hstripes':
        t = np.sin(3 * np.pi * v)
    elif name == 'vstripes':
        t = np.sin(3 * np.pi * u)
    elif name == 'dstripes':
        t = np.sin(2.5 * np.pi * (u + v))
    elif name == 'checker':
        t = np.sin(2 * np.pi * u) * np.sin(2 * np.pi * v)
    elif name == 'sectors':
        t = np.sin(4 * np.arctan2(v, u))
    elif name == 'rings':
        t = np.sin(3 * np.pi * np.hypot(u, v))
    elif name == 'dots':
        t = np.cos(3 * np.pi * u) * np.cos(3 * np.pi * v)
    else:
        raise ValueError(f'unknown texture {name!r}')
    return (t > 0).astype(np.float64)


def _triangle_wave(u: float, low: float, high: float) -> float:
    """``u`` folded back and forth into ``[low, high]`` (border bounces)."""
    span = max(high - low, 1e-6)
    w = (u - low) % (2 * span)
    return low + (w if w <= span else 2 * span - w)


def _pose(actor: dict, t: float, height: int, width: int,
          num_frames: int) -> Tuple[float, float, float, float, float]:
    """Centre, scale and rotation of one actor at frame ``t`` (0-based).

    Returns:
        tuple: ``(cx, cy, sx, sy, angle)``: centre in pixels, scale factors
        on the actor's width and height, rotation in radians.
    """
    action = ACTIONS[actor['action']]
    half_w, half_h = actor['half_extent']
    margin_x = 1.1 * max(half_w, half_h) + 1
    margin_y = 1.1 * max(half_w, half_h) + 1
    x_lo, x_hi = margin_x, width - margin_x
    y_lo, y_hi = margin_y, height - margin_y
    x0, y0, d, phase = actor['x0'], actor['y0'], actor['dir'], actor['phase']
    span_t = max(num_frames - 1, 1)
    cx, cy, sx, sy, angle = x0, y0, 1.0, 1.0, 0.0
    if action == 'climbing':
        cy = y_hi - (y_hi - y_lo) * 0.9 * t / span_t
    elif action == 'flying':
        cx = _triangle_wave(x0 + d * 0.55 * width * t / span_t, x_lo, x_hi)
        cy = y_hi - (y_hi - y_lo) * 0.9 * t / span_t
    elif action == 'jumping':
        cy = y_hi - 0.35 * height * abs(math.sin(math.pi * t / 8 + phase))
    elif action in ('rolling', 'running', 'walking', 'crawling'):
        speed = dict(
            rolling=0.03, running=0.055, walking=0.015,
            crawling=0.012)[action] * width
        cx = _triangle_wave(x0 + d * speed * t, x_lo, x_hi)
        if action == 'rolling':
            # Rolling without slipping: arc length = travelled distance.
            travelled = d * speed * t
            angle = travelled / max(half_w, 1.0)
        if action == 'crawling':
            cy = y_hi
            sx, sy = 1.35, 0.6 + 0.12 * math.sin(2 * math.pi * t / 6 + phase)
    elif action == 'eating':
        s = 1 + 0.35 * math.sin(2 * math.pi * t / 6 + phase)
        sx = sy = s
    return (float(np.clip(cx, 0, width - 1)),
            float(np.clip(cy, 0, height - 1)), sx, sy, angle)


def _video_ids(rng: np.random.Generator, num: int) -> List[str]:
    """Unique 11-character YouTube-like ids, about a sixth starting with '-'.
    """
    alphabet = np.array(list(string.ascii_letters + string.digits + '-_'))
    ids: List[str] = []
    while len(ids) < num:
        vid = ''.join(rng.choice(alphabet, 11))
        if rng.random() < 1 / 6:
            vid = '-' + vid[1:]
        if vid not in ids:
            ids.append(vid)
    return ids


def _plan_actor(rng: np.random.Generator, height: int, width: int) -> dict:
    """Draw one actor: a valid pair (action uniform first), size, start."""
    action = int(rng.integers(1, len(ACTIONS)))
    actors = [j // 10 for j in VALID_JOINT_IDS if j % 10 == action]
    actor = int(rng.choice(actors))
    style = _ACTOR_STYLES[actor]
    size = 0.24 * height * rng.uniform(0.85, 1.15)
    half = (0.5 * size * style['aspect'][0], 0.5 * size * style['aspect'][1])
    margin = 1.1 * max(half) + 1
    return dict(
        actor=actor,
        action=action,
        joint_id=10 * actor + action,
        half_extent=half,
        x0=float(rng.uniform(margin, width - margin)),
        y0=float(rng.uniform(margin, height - margin)),
        dir=int(rng.choice([-1, 1])),
        phase=float(rng.uniform(0, 2 * np.pi)))


def _background(rng: np.random.Generator, height: int,
                width: int) -> np.ndarray:
    """A muted, low-saturation textured background, float ``(H, W, 3)``."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    base = rng.uniform(80, 130) + rng.uniform(-12, 12, size=3)
    field = np.zeros((height, width))
    for _ in range(4):
        fx, fy = rng.uniform(0.5, 3.0, size=2) * 2 * np.pi
        field += np.sin(fx * xx / width + fy * yy / height +
                        rng.uniform(0, 2 * np.pi))
    bg = base[None, None] + 8 * field[..., None]
    bg += rng.normal(0, 6, size=(height, width, 1))  # grain, grey
    return bg


def _render(video: dict, rng: np.random.Generator, height: int, width: int,
            num_frames: int) -> Tuple[np.ndarray, np.ndarray]:
    """Draw every frame of one video.

    Returns:
        tuple: ``frames`` uint8 RGB ``(F, H, W, 3)`` and ``instances``
        uint8 ``(F, H, W)`` (0 = background, k + 1 = ``video['actors'][k]``,
        later actors drawn on top).
    """
    bg = _background(rng, height, width)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    instances = np.zeros((num_frames, height, width), np.uint8)
    for t in range(num_frames):
        img = bg + rng.normal(0, 2, size=(height, width, 1))
        for k, actor in enumerate(video['actors']):
            style = _ACTOR_STYLES[actor['actor']]
            cx, cy, sx, sy, angle = _pose(actor, t, height, width, num_frames)
            half = np.array(actor['half_extent']) * (sx, sy)
            rot = np.array([[math.cos(angle), -math.sin(angle)],
                            [math.sin(angle), math.cos(angle)]])
            pts = (_polygon(style['shape']) * half) @ rot.T + (cx, cy)
            mask = np.zeros((height, width), np.uint8)
            cv2.fillPoly(
                mask, [np.round(pts * 16).astype(np.int32)],
                1,
                lineType=cv2.LINE_8,
                shift=4)
            ys, xs = np.nonzero(mask)
            # Texture in the actor's own frame, so rotation shows.
            local = (np.stack([xs - cx, ys - cy], 1) @ rot) / half
            tex = _texture(style['texture'], local[:, 0], local[:, 1])
            img[ys, xs] = np.array(
                style['color'])[None] * (0.55 + 0.45 * tex[:, None])
            instances[t, ys, xs] = k + 1
        frames[t] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return frames, instances


# ------------------------------------------------------------------ writers
_MAT_HEADER = (b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: '
               b'Thu Jan  1 00:00:00 2015 HDF5 schema 1.00 .')

_DEFLATE = dict(compression='gzip', compression_opts=3)


def _mat_double(f: h5py.File, key: str, matlab_array: np.ndarray) -> None:
    """Store a MATLAB double array as MATLAB v7.3 does (axes reversed)."""
    data = np.asarray(matlab_array, np.float64).T
    # MATLAB's save -v7.3 deflates arrays (level 3) in chunks.
    ds = f.create_dataset(
        key,
        data=data,
        track_times=False,
        **(_DEFLATE if data.size > 64 else {}))
    ds.attrs.create('MATLAB_class', np.bytes_('double'))


def write_a2d_mat(path: str, label_map: np.ndarray, masks: np.ndarray,
                  joint_ids: Sequence[int]) -> None:
    """Write one annotated frame as a MATLAB v7.3 ``.mat`` file.

    MATLAB v7.3 is HDF5 with a 512-byte user block holding the MATLAB text
    header; arrays are stored column-major, so h5py sees their axes
    reversed: ``reS_id`` ``(W, H)``, ``reMask`` ``(N, W, H)`` (``(W, H)``
    when N = 1, MATLAB drops trailing singleton axes), ``reBBox`` ``(4, N)``,
    ``id`` ``(1, N)``, ``reS_col`` ``(3, W, H)`` uint8, ``class`` a cell of
    ``'actor-action'`` names (``(1, N)`` references into ``#refs#``).

    Args:
        path (str): Output ``.mat`` path.
        label_map (np.ndarray): Joint ids ``(H, W)``.
        masks (np.ndarray): Instance masks ``(N, H, W)``, N >= 1.
        joint_ids (Sequence[int]): Joint id of each instance, ``(N, )``.
    """
    masks = np.asarray(masks, bool)
    num = len(joint_ids)
    boxes = np.zeros((num, 4))
    for n in range(num):
        ys, xs = np.nonzero(masks[n])
        # 1-based MATLAB pixel coordinates: x1, y1, x2, y2
        boxes[n] = (xs.min() + 1, ys.min() + 1, xs.max() + 1, ys.max() + 1)
    with h5py.File(path, 'w', userblock_size=512, libver='earliest') as f:
        refs = f.create_group('#refs#')
        names = []
        for n, jid in enumerate(joint_ids):
            name = f'{ACTORS[jid // 10]}-{ACTIONS[jid % 10]}'
            chars = np.frombuffer(name.encode('ascii'), np.uint8).astype(
                np.uint16)[:, None]  # MATLAB char 1 x L -> stored (L, 1)
            ds = refs.create_dataset(
                string.ascii_lowercase[n % 26] * (n // 26 + 1),
                data=chars,
                track_times=False)
            ds.attrs.create('MATLAB_class', np.bytes_('char'))
            ds.attrs.create('MATLAB_int_decode', np.int32(2))
            names.append(ds.ref)
        cell = f.create_dataset(
            'class',
            data=np.array(names, dtype=h5py.ref_dtype)[None],
            track_times=False)  # MATLAB cell N x 1 -> stored (1, N)
        cell.attrs.create('MATLAB_class', np.bytes_('cell'))
        # MATLAB N x 1 -> stored (1, N)
        _mat_double(f, 'id', np.asarray(joint_ids, np.float64)[:, None])
        _mat_double(f, 'reBBox', boxes)  # MATLAB N x 4 -> stored (4, N)
        mask_hwn = masks.transpose(1, 2, 0)
        _mat_double(f, 'reMask', mask_hwn[..., 0] if num == 1 else mask_hwn)
        col = f.create_dataset(
            'reS_col',
            data=ids_to_color(label_map).transpose(2, 1, 0),
            track_times=False,
            **_DEFLATE)
        col.attrs.create('MATLAB_class', np.bytes_('uint8'))
        _mat_double(f, 'reS_id', label_map)
    header = _MAT_HEADER.ljust(116, b' ') + b'\x00' * 8 + b'\x00\x02IM'
    with open(path, 'r+b') as f:
        f.write(header.ljust(512, b'\x00'))


def write_a2d_readme(path: str) -> None:
    """Write a ``README`` with the A2D label table (``NAME ID Valid R G B``).

    Args:
        path (str): Output path.
    """
    lines = [
        'A2D: Actor-Action Dataset, version 1.0 -- SYNTHETIC STAND-IN',
        '',
        'Written by ssa2d_mm.datasets.synthetic.make_synthetic_a2d in the',
        'layout and formats of the real release: videoset.csv, clips320H/,',
        'Annotations/mat/ (MATLAB v7.3) and Annotations/col/ (colour PNG).',
        'The videos are rendered shapes, not YouTube clips.',
        '',
        'videoset.csv columns (no header): vid, label, timestart, timeend,',
        'height, width, frames, anno, test (0 = train, 1 = test).',
        '',
        'Label table: NAME ID Valid R G B',
    ]
    for jid, (r, g, b) in sorted(COLORS.items()):
        name = 'background' if jid == 0 else (
            f'{ACTORS[jid // 10]}-{ACTIONS[jid % 10]}')
        valid = int(jid == 0 or jid in VALID_JOINT_IDS)
        lines.append(f'{name} {jid} {valid} {r} {g} {b}')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _write_video(path: str, frames: np.ndarray, fps: float) -> None:
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'{path}: OpenCV cannot write mp4v videos here')
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))  # RGB -> BGR
    writer.release()


def make_synthetic_a2d(out_dir: str,
                       num_videos: int = 64,
                       seed: int = 0,
                       height: int = 96,
                       width: int = 128,
                       num_frames: int = 32,
                       test_fraction: float = 0.25,
                       fps: float = 24.0,
                       return_frames: bool = False) -> dict:
    """Write a synthetic A2D release to ``<out_dir>/Release``.

    Args:
        out_dir (str): Parent folder; ``Release/`` is created inside.
        num_videos (int): Number of videos. Defaults to 64.
        seed (int): Random seed; a seed gives identical files. Defaults to 0.
        height (int): Frame height, even, >= 32. Defaults to 96.
        width (int): Frame width, even, >= 32. Defaults to 128.
        num_frames (int): Frames per video, >= 5. Defaults to 32.
        test_fraction (float): Share of test videos (at least one of each
            split when ``num_videos >= 2``). Defaults to 0.25.
        fps (float): Frame rate written in the mp4. Defaults to 24.
        return_frames (bool): Also return every rendered frame (memory:
            ``num_videos * num_frames * height * width * 3`` bytes).
            Defaults to False.

    Returns:
        dict: The ground truth: ``release_dir`` and ``videos``, a list with
        one dict per video: ``vid``, ``split`` (``'train'``/``'test'``),
        ``label`` (video-level joint id), ``num_frames``, ``height``,
        ``width``, ``actors`` (list of ``actor``, ``action``, ``joint_id``),
        ``labels`` (``{fid: int64 (H, W) joint-id map}`` of its annotated
        frames, 1-based ``fid``), ``instances`` (``{fid: list of joint ids
        of the visible instances}``) and, with ``return_frames``, ``frames``
        (uint8 RGB ``(F, H, W, 3)``). The same minus the arrays is written
        to ``<out_dir>/synthetic_a2d_gt.json``.
    """
    if height < 32 or width < 32 or height % 2 or width % 2:
        raise ValueError('height and width must be even and >= 32, got '
                         f'{height} x {width}')
    if num_frames < 5:
        raise ValueError(f'num_frames must be >= 5, got {num_frames}')
    if num_videos < 1:
        raise ValueError(f'num_videos must be >= 1, got {num_videos}')
    rng = np.random.default_rng(seed)
    release = osp.join(out_dir, 'Release')
    for sub in ('clips320H', 'Annotations/mat', 'Annotations/col'):
        os.makedirs(osp.join(release, sub), exist_ok=True)
    write_a2d_readme(osp.join(release, 'README'))

    vids = _video_ids(rng, num_videos)
    num_test = int(round(num_videos * test_fraction))
    if num_videos >= 2:
        num_test = min(max(num_test, 1), num_videos - 1)
    test_set = set(rng.permutation(num_videos)[:num_test].tolist())

    videos, rows = [], []
    for i, vid in enumerate(vids):
        # The first three videos cover 1, 2 and 3 actors (so even a tiny
        # set has a one-instance frame, the reMask (W, H) case).
        n_actors = i + 1 if i < 3 else int(
            rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
        actors = [_plan_actor(rng, height, width) for _ in range(n_actors)]
        n_anno = int(rng.choice([1, 2, 3, 5], p=[0.15, 0.15, 0.55, 0.15]))
        fids = sorted(
            (rng.choice(num_frames, n_anno, replace=False) + 1).tolist())
        video = dict(
            vid=vid,
            split='test' if i in test_set else 'train',
            label=actors[0]['joint_id'],
            num_frames=num_frames,
            height=height,
            width=width,
            actors=actors)
        frames, inst = _render(video, rng, height, width, num_frames)
        _write_video(osp.join(release, 'clips320H', vid + '.mp4'), frames, fps)

        lut = np.array([0] + [a['joint_id'] for a in actors], np.int64)
        labels, instances = {}, {}
        for fid in fids:
            inst_map = inst[fid - 1]
            label_map = lut[inst_map]
            present = [k for k in range(n_actors) if (inst_map == k + 1).any()]
            masks = np.stack([inst_map == k + 1 for k in present])
            joint_ids = [int(lut[k + 1]) for k in present]
            for kind in ('mat', 'col'):
                os.makedirs(
                    osp.join(release, 'Annotations', kind, vid), exist_ok=True)
            write_a2d_mat(
                osp.join(release, 'Annotations', 'mat', vid, f'{fid:05d}.mat'),
                label_map, masks, joint_ids)
            cv2.imwrite(
                osp.join(release, 'Annotations', 'col', vid, f'{fid:05d}.png'),
                ids_to_color(label_map)[..., ::-1])
            labels[fid] = label_map
            instances[fid] = joint_ids
        video.update(labels=labels, instances=instances)
        if return_frames:
            video['frames'] = frames
        videos.append(video)
        start = int(rng.integers(0, 200))
        rows.append([
            vid, video['label'], start,
            start + int(math.ceil(num_frames / fps)), height, width,
            num_frames,
            len(fids),
            int(video['split'] == 'test')
        ])

    with open(osp.join(release, 'videoset.csv'), 'w', newline='') as f:
        csv.writer(f, lineterminator='\n').writerows(rows)
    summary = [
        dict(
            {
                k: v
                for k, v in video.items()
                if k not in ('labels', 'frames', 'actors')
            },
            actors=[{
                k: a[k]
                for k in ('actor', 'action', 'joint_id')
            } for a in video['actors']],
            instances={
                str(k): v
                for k, v in video['instances'].items()
            }) for video in videos
    ]
    with open(osp.join(out_dir, 'synthetic_a2d_gt.json'), 'w') as f:
        json.dump(dict(seed=seed, videos=summary), f, indent=1)
    for video in videos:
        video['actors'] = [{
            k: a[k]
            for k in ('actor', 'action', 'joint_id')
        } for a in video['actors']]
    return dict(release_dir=release, videos=videos)
