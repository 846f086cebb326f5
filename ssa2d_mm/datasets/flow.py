"""Dense optical flow for the RGB+OF setting: computation and storage.

Storage follows mmaction2's flow frames (what ``denseflow`` and
``tools/misc/flow_extraction.py`` write, and ``RawFrameDecode`` reads)::

    <out>/<vid>/flow_x_00001.jpg, flow_y_00001.jpg, flow_x_00002.jpg, ...
    <out>/<vid>/flow_done.json      completion marker, written last

- Frame count: a video of ``N`` decoded frames has ``N - 1`` flow frames;
  ``flow_{x,y}_{k:05d}.jpg`` (1-based ``k``) is the forward flow from frame
  ``k - 1`` to frame ``k`` (0-based frame indices). Frame ``i`` of a clip
  uses flow file ``min(i, N - 2) + 1``: the last frame reuses the last pair.
- Quantisation: denseflow's ``round(255 * (v + bound) / (2 * bound))``,
  clipped to ``[0, 255]``, one grayscale JPEG per component;
  :func:`dequantize_flow` inverts it (error <= ``bound / 255`` plus JPEG
  loss). mmcv's ``quantize_flow`` uses another scheme (floor, 255 levels),
  so it is not used here.
- ``flow_done.json`` records ``method``, ``bound``, ``num_frames``,
  ``num_flows``, ``height``, ``width``: extraction is resumable (a folder
  with a matching marker is skipped) and the loader reads the flow count and
  bound from it.
"""
import glob
import json
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.fileio import get as get_bytes
from mmengine.utils import track_parallel_progress, track_progress

FLOW_TMPL = 'flow_{}_{:05d}.jpg'
DONE_MARKER = 'flow_done.json'
FLOW_METHODS = ('dis', 'farneback', 'tvl1')


def create_flow_estimator(
        method: str = 'dis') -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """An OpenCV dense flow function ``(prev, next) -> (H, W, 2)`` float32.

    Args:
        method (str): ``'dis'`` (cv2 DIS, medium preset: fast, good quality),
            ``'farneback'`` (the parameters of mmaction2's
            ``flow_extraction.py``) or ``'tvl1'`` (``cv2.optflow`` from
            opencv-contrib; the classic two-stream choice, slowest).

    Returns:
        callable: Takes two uint8 grayscale frames ``(H, W)``.
    """
    if method == 'dis':
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return lambda prev, nxt: dis.calc(prev, nxt, None)
    if method == 'farneback':
        return lambda prev, nxt: cv2.calcOpticalFlowFarneback(
            prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    if method == 'tvl1':
        if not hasattr(cv2, 'optflow'):
            raise ImportError('TV-L1 flow needs cv2.optflow, which ships with '
                              'opencv-contrib-python; use dis or farneback.')
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        return lambda prev, nxt: tvl1.calc(prev, nxt, None)
    raise ValueError(f'flow method must be one of {FLOW_METHODS}, got '
                     f'{method!r}')


def quantize_flow(flow: np.ndarray,
                  bound: float = 20.) -> Tuple[np.ndarray, np.ndarray]:
    """Flow ``(H, W, 2)`` in pixels -> two uint8 images, as denseflow does.

    Args:
        flow (np.ndarray): ``(H, W, 2)`` flow (x, y) in pixels.
        bound (float): Values are clipped to ``[-bound, bound]``.

    Returns:
        tuple[np.ndarray, np.ndarray]: x and y images, uint8 ``(H, W)``.
    """
    q = np.rint((flow.astype(np.float32) + bound) * (255. / (2 * bound)))
    q = np.clip(q, 0, 255).astype(np.uint8)
    return q[..., 0], q[..., 1]


def dequantize_flow(flow_x: np.ndarray,
                    flow_y: np.ndarray,
                    bound: float = 20.) -> np.ndarray:
    """Inverse of :func:`quantize_flow`.

    Args:
        flow_x (np.ndarray): uint8 ``(H, W)`` x image.
        flow_y (np.ndarray): uint8 ``(H, W)`` y image.
        bound (float): The bound used when quantising.

    Returns:
        np.ndarray: float32 ``(H, W, 2)`` flow in pixels.
    """
    q = np.stack([flow_x, flow_y], axis=-1).astype(np.float32)
    return q * np.float32(2 * bound / 255.) - np.float32(bound)


def read_flow_marker(flow_dir: str) -> dict:
    """The completion marker of one video's flow folder.

    Raises:
        FileNotFoundError: if the flow of that video was not (fully)
            extracted.
    """
    path = osp.join(flow_dir, DONE_MARKER)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(
            f'{path} not found: the flow of this video was not extracted, or '
            'extraction was interrupted. Run tools/data/extract_flow.py.'
        ) from None


def flow_file_indices(frame_inds: Sequence[int], num_flows: int) -> np.ndarray:
    """1-based flow file index of each 0-based frame index (see module doc).
    """
    if num_flows < 1:
        raise ValueError('a video needs at least 2 frames to have flow')
    return np.clip(np.asarray(frame_inds), 0, num_flows - 1) + 1


def load_flow_frames(flow_dir: str,
                     frame_inds: Sequence[int],
                     backend_args: Optional[dict] = None) -> List[np.ndarray]:
    """Read and dequantise the flow of some frames of one video.

    Args:
        flow_dir (str): The video's flow folder (with ``flow_done.json``).
        frame_inds (Sequence[int]): 0-based frame indices.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        list[np.ndarray]: One float32 ``(H, W, 2)`` flow per index.
    """
    marker = read_flow_marker(flow_dir)
    bound = float(marker['bound'])
    flows, cache = [], {}
    for k in flow_file_indices(frame_inds, int(marker['num_flows'])):
        k = int(k)
        if k not in cache:
            parts = []
            for axis in ('x', 'y'):
                path = osp.join(flow_dir, FLOW_TMPL.format(axis, k))
                img = mmcv.imfrombytes(
                    get_bytes(path, backend_args=backend_args),
                    flag='grayscale')
                if img is None:
                    raise ValueError(f'{path}: unreadable flow image')
                parts.append(img)
            cache[k] = dequantize_flow(parts[0], parts[1], bound)
        flows.append(cache[k].copy())
    return flows


def extract_video_flow(video: str,
                       out_dir: str,
                       method: str = 'dis',
                       bound: float = 20.) -> Dict:
    """Compute and store the flow of one video (resumable).

    Frames are decoded in order with OpenCV and converted to grayscale; one
    flow field per pair of consecutive frames is written as two JPEGs, then
    the completion marker. A folder whose marker has the same method and
    bound is skipped.

    Args:
        video (str): The video file.
        out_dir (str): Its flow folder.
        method (str): See :func:`create_flow_estimator`.
        bound (float): Quantisation bound in pixels. Defaults to 20.

    Returns:
        dict: ``video``, ``status`` (``'skipped'`` or ``'extracted'``),
        ``num_flows`` and ``seconds``.
    """
    marker_path = osp.join(out_dir, DONE_MARKER)
    if osp.isfile(marker_path):
        with open(marker_path) as f:
            marker = json.load(f)
        if marker.get('method') == method and float(marker.get(
                'bound', -1)) == float(bound):
            return dict(
                video=video,
                status='skipped',
                num_flows=marker['num_flows'],
                seconds=0.)
        os.remove(marker_path)  # other settings: recompute
    start = time.perf_counter()
    estimator = create_flow_estimator(method)
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise ValueError(f'{video}: OpenCV cannot open the video')
    ok, frame = cap.read()
    if not ok:
        raise ValueError(f'{video}: no frame could be decoded')
    prev = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    num_frames, num_flows = 1, 0
    os.makedirs(out_dir, exist_ok=True)
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        nxt = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        num_frames += 1
        num_flows += 1
        flow_x, flow_y = quantize_flow(estimator(prev, nxt), bound)
        for axis, img in (('x', flow_x), ('y', flow_y)):
            path = osp.join(out_dir, FLOW_TMPL.format(axis, num_flows))
            if not mmcv.imwrite(img, path):
                raise OSError(f'{path}: could not write the flow image')
        prev = nxt
    cap.release()
    if num_flows == 0:
        raise ValueError(f'{video}: a single frame has no flow')
    marker = dict(
        video=osp.basename(video),
        method=method,
        bound=float(bound),
        num_frames=num_frames,
        num_flows=num_flows,
        height=int(prev.shape[0]),
        width=int(prev.shape[1]),
        filename_tmpl=FLOW_TMPL)
    tmp = marker_path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(marker, f)
    os.replace(tmp, marker_path)  # atomic: the marker exists only when done
    return dict(
        video=video,
        status='extracted',
        num_flows=num_flows,
        seconds=time.perf_counter() - start)


def find_videos(data_root: str, pattern: str) -> List[Tuple[str, str]]:
    """Videos matching a glob and their flow folder names.

    The name of a video's flow folder is its path relative to the pattern's
    fixed leading folders, without extension: ``clips320H/*.mp4`` gives
    ``<vid>`` (A2D), ``video/*/*.mp4`` gives ``<XXXX>/<video_id>`` (VidOR).

    Args:
        data_root (str): Dataset root.
        pattern (str): Glob relative to ``data_root``.

    Returns:
        list[tuple[str, str]]: Sorted ``(video_path, flow_name)`` pairs.
    """
    parts = pattern.split('/')
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    base = osp.join(data_root, *fixed)
    videos = sorted(glob.glob(osp.join(data_root, pattern)))
    return [(v, osp.splitext(osp.relpath(v, base))[0]) for v in videos]


def _extract_task(task: Tuple[str, str, str, float]) -> Dict:
    video, out_dir, method, bound = task
    return extract_video_flow(video, out_dir, method, bound)


def extract_flow_dataset(data_root: str,
                         out: str,
                         videos: str = 'clips320H/*.mp4',
                         method: str = 'dis',
                         bound: float = 20.,
                         workers: int = 1) -> Dict:
    """Extract the flow of every video of a dataset, with a progress bar.

    Args:
        data_root (str): Dataset root (A2D's ``Release``, VidOR's root).
        out (str): Flow root; each video gets ``<out>/<flow_name>/``.
        videos (str): Glob of the videos, relative to ``data_root``:
            ``'clips320H/*.mp4'`` (A2D) or ``'video/*/*.mp4'`` (VidOR).
        method (str): ``'dis'``, ``'farneback'`` or ``'tvl1'``.
        bound (float): Quantisation bound in pixels. Defaults to 20.
        workers (int): Parallel processes (mmengine's
            ``track_parallel_progress``). Defaults to 1.

    Returns:
        dict: ``videos``, ``extracted``, ``skipped``, ``flow_frames``
        (written now) and ``seconds`` (wall time).
    """
    if method not in FLOW_METHODS:
        raise ValueError(f'flow method must be one of {FLOW_METHODS}, got '
                         f'{method!r}')
    create_flow_estimator(method)  # fail early (e.g. no cv2.optflow)
    found = find_videos(data_root, videos)
    if not found:
        raise FileNotFoundError(
            f'no video matches {osp.join(data_root, videos)}')
    tasks = [(v, osp.join(out, name), method, float(bound))
             for v, name in found]
    start = time.perf_counter()
    if workers > 1:
        # Parallelism comes from the processes: one OpenCV thread each. Set
        # in the parent before the pool forks: a child forked while OpenCV's
        # thread pool runs deadlocks on its first parallel call.
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            results = track_parallel_progress(_extract_task, tasks, workers)
        finally:
            cv2.setNumThreads(threads)
    else:
        results = track_progress(_extract_task, tasks)
    extracted = [r for r in results if r['status'] == 'extracted']
    return dict(
        videos=len(results),
        extracted=len(extracted),
        skipped=len(results) - len(extracted),
        flow_frames=sum(r['num_flows'] for r in extracted),
        seconds=time.perf_counter() - start)
