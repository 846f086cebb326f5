"""Loading transforms for A2D: video decoding, clip sampling, annotations.

An A2D pipeline opens the video, samples a clip around the annotated frame,
decodes it, then reads that frame's label map::

    dict(type='VideoInit'),                       # total_frames is known
    dict(type='SampleAnnotatedClip', clip_len=16),  # frame_inds
    dict(type='VideoDecode'),                     # imgs, ori_shape
    dict(type='LoadA2DAnnotation'),               # gt_actor_seg, gt_action_seg

Decoding reuses mmaction2's ``DecordInit/DecordDecode``,
``PyAVInit/PyAVDecode`` and ``OpenCVInit/OpenCVDecode``; what is added here
is the fallback from one library to the next and errors that name the file.

The A2D file readers (:func:`read_a2d_mat`, :func:`read_a2d_color_png`,
:func:`read_a2d_annotation`) and checks (:func:`check_label_ids`,
:func:`check_annotation_size`) are public: ``tools/data/a2d_summary.py`` runs
the same checks on a whole ``Release`` tree.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import h5py
import numpy as np
from mmaction.datasets.transforms.loading import (DecordDecode, DecordInit,
                                                  OpenCVDecode, OpenCVInit,
                                                  PyAVDecode, PyAVInit)
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ..a2d_labels import COLORS, color_to_ids
from ..errors import DataFileError

#: Ignore index of the label volumes (voxels without annotation).
IGNORE_INDEX = 255

#: mmaction2's (init, decode) transforms per decoding library.
VIDEO_BACKENDS: Dict[str, Tuple[type, type]] = {
    'decord': (DecordInit, DecordDecode),
    'pyav': (PyAVInit, PyAVDecode),
    'opencv': (OpenCVInit, OpenCVDecode),
}

_KNOWN_IDS = np.zeros(256, dtype=bool)
_KNOWN_IDS[list(COLORS)] = True


# --------------------------------------------------------------------------
# A2D annotation files
# --------------------------------------------------------------------------
def check_label_ids(file: str, label_map: np.ndarray) -> None:
    """Check that every value of a joint-id map is in the A2D label table.

    Args:
        file (str): The annotation file, for the error message.
        label_map (np.ndarray): Joint ids, any shape, integer.

    Raises:
        DataFileError: naming ``file`` and the unknown ids.
    """
    ids = np.unique(label_map)
    bad = [int(i) for i in ids if not (0 <= i < 256 and _KNOWN_IDS[int(i)])]
    if bad:
        raise DataFileError(
            file, f'label ids {bad} are not in the A2D label table '
            '(0 = background, 10 * actor + action)')


def check_annotation_size(file: str, ann_shape: Sequence[int],
                          frame_shape: Sequence[int]) -> None:
    """Check that an annotation has the size of its video's frames.

    Args:
        file (str): The annotation file, for the error message.
        ann_shape (Sequence[int]): ``(H, W)`` of the label map.
        frame_shape (Sequence[int]): ``(H, W)`` of the video frames.

    Raises:
        DataFileError: naming ``file`` and both sizes.
    """
    ann_hw = tuple(int(s) for s in ann_shape[:2])
    frame_hw = tuple(int(s) for s in frame_shape[:2])
    if ann_hw != frame_hw:
        raise DataFileError(
            file, f'annotation size (H, W) = {ann_hw} differs from the '
            f'video frame size {frame_hw}')


def _matlab_array(file: str, mat: h5py.File, key: str) -> np.ndarray:
    """A numeric MATLAB array with its axes back in MATLAB order."""
    if key not in mat:
        raise DataFileError(
            file, f'no variable {key!r} in the .mat file '
            f'(found {sorted(mat.keys())})')
    node = mat[key]
    if not isinstance(node, h5py.Dataset):
        raise DataFileError(file, f'variable {key!r} is not a numeric array')
    # h5py sees MATLAB's column-major arrays with their axes reversed.
    return np.asarray(node[()]).T


def _to_int(file: str, key: str, values: np.ndarray) -> np.ndarray:
    """Cast MATLAB doubles holding integers to int64, refusing anything else.
    """
    values = np.asarray(values)
    if values.dtype.kind == 'f':
        rounded = np.rint(values)
        if not np.all(np.isfinite(values)) or np.any(
                np.abs(values - rounded) > 1e-6):
            raise DataFileError(file,
                                f'variable {key!r} holds non-integer values')
        values = rounded
    elif values.dtype.kind not in 'iub':
        raise DataFileError(
            file, f'variable {key!r} has non-numeric type {values.dtype}')
    return values.astype(np.int64)


def read_a2d_mat(file: str) -> Dict[str, np.ndarray]:
    """Read one A2D ``Annotations/mat/<vid>/<fid>.mat`` (MATLAB v7.3).

    MATLAB v7.3 files are HDF5 (``scipy.io.loadmat`` cannot read them); h5py
    returns the arrays with their axes reversed, so each is transposed back:
    ``reS_id`` stored ``(W, H)`` -> ``(H, W)``; ``reMask`` stored
    ``(N, W, H)``, or ``(W, H)`` when N = 1 -> ``(N, H, W)``; ``reBBox``
    stored ``(4, N)`` -> ``(N, 4)``; ``id`` stored ``(1, N)`` -> ``(N, )``.

    Args:
        file (str): Path of the ``.mat`` file.

    Returns:
        dict: ``label_map`` (int64 ``(H, W)``, joint ids, 0 = background),
        and, when the file has them, ``instance_masks`` (bool ``(N, H, W)``),
        ``instance_ids`` (int64 ``(N, )``, joint ids) and ``bboxes``
        (float64 ``(N, 4)``, x1, y1, x2, y2 as stored).

    Raises:
        DataFileError: if the file is missing, is not HDF5 (truncated,
            MATLAB v5), lacks ``reS_id`` or holds non-integer labels.
    """
    if not osp.isfile(file):
        raise DataFileError(file, 'annotation file not found')
    try:
        with h5py.File(file, 'r') as mat:
            out = dict(
                label_map=_to_int(file, 'reS_id',
                                  _matlab_array(file, mat, 'reS_id')))
            if 'reMask' in mat:
                masks = _matlab_array(file, mat, 'reMask')
                if masks.ndim == 2:  # MATLAB drops the trailing N = 1 axis
                    masks = masks[..., None]
                # (H, W, N) in MATLAB order -> (N, H, W)
                out['instance_masks'] = _to_int(file, 'reMask',
                                                masks).transpose(2, 0, 1) > 0
            if 'id' in mat:
                out['instance_ids'] = _to_int(file, 'id',
                                              _matlab_array(file, mat,
                                                            'id')).reshape(-1)
            if 'reBBox' in mat:
                bboxes = _matlab_array(file, mat, 'reBBox')
                out['bboxes'] = np.asarray(bboxes, np.float64).reshape(-1, 4)
    except DataFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as err:
        # h5py raises OSError for truncated / non-HDF5 files (e.g. v5 .mat).
        raise DataFileError(
            file, f'unreadable MATLAB v7.3 (HDF5) annotation: {err}') from err
    if out['label_map'].ndim != 2:
        raise DataFileError(
            file, f"'reS_id' has shape {out['label_map'].shape}, "
            'expected a 2-D label map')
    return out


def read_a2d_color_png(file: str) -> np.ndarray:
    """Read one A2D ``Annotations/col/<vid>/<fid>.png`` into joint ids.

    Args:
        file (str): Path of the colour-coded PNG.

    Returns:
        np.ndarray: int64 ``(H, W)`` joint ids, 0 = background.

    Raises:
        DataFileError: if the file is missing or unreadable, is not an RGB
            image, or has colours that are not in the A2D table.
    """
    if not osp.isfile(file):
        raise DataFileError(file, 'annotation file not found')
    bgr = cv2.imread(file, cv2.IMREAD_UNCHANGED)
    if bgr is None:
        raise DataFileError(file, 'unreadable PNG annotation')
    if bgr.ndim != 3 or bgr.shape[2] not in (3, 4) or bgr.dtype != np.uint8:
        raise DataFileError(
            file, f'expected an 8-bit RGB colour-coded PNG, got shape '
            f'{bgr.shape} and type {bgr.dtype}')
    rgb = np.ascontiguousarray(bgr[..., 2::-1])
    ids, unknown = color_to_ids(rgb)
    if unknown.any():
        colours = np.unique(rgb[unknown].reshape(-1, 3), axis=0)
        shown = [tuple(int(v) for v in c) for c in colours[:5]]
        raise DataFileError(
            file, f'{int(unknown.sum())} pixels have colours that are not '
            f'in the A2D colour table (RGB {shown}'
            f'{", ..." if len(colours) > 5 else ""})')
    return ids


def read_a2d_annotation(file: str, label_source: str = 'mat') -> np.ndarray:
    """Read and validate the joint-id map of one annotated A2D frame.

    Args:
        file (str): The ``.mat`` (``label_source='mat'``) or colour PNG
            (``label_source='col'``) annotation.
        label_source (str): ``'mat'`` or ``'col'``. Defaults to ``'mat'``.

    Returns:
        np.ndarray: int64 ``(H, W)`` joint ids, all in the A2D table.

    Raises:
        DataFileError: naming the file and the problem.
    """
    if label_source == 'mat':
        label_map = read_a2d_mat(file)['label_map']
    elif label_source == 'col':
        label_map = read_a2d_color_png(file)
    else:
        raise ValueError(
            f"label_source must be 'mat' or 'col', got {label_source!r}")
    check_label_ids(file, label_map)
    return label_map


# --------------------------------------------------------------------------
# Video decoding with fallback
# --------------------------------------------------------------------------
def _check_backends(backends: Sequence[str]) -> Tuple[str, ...]:
    backends = tuple(backends)
    unknown = [b for b in backends if b not in VIDEO_BACKENDS]
    if not backends or unknown:
        raise ValueError(f'backends must be a non-empty sequence of '
                         f'{list(VIDEO_BACKENDS)}, got {list(backends)}')
    return backends


def _describe(backend: str, err: Exception) -> str:
    """One printable line about a library's failure."""
    text = ' '.join(str(err).split())
    text = ''.join(c if c.isprintable() else '?' for c in text)
    if len(text) > 200:
        text = text[:197] + '...'
    return f'{backend}: {type(err).__name__}: {text}'


class _VideoOpener:
    """mmaction2's init/decode transforms of each library, tried in turn."""

    def __init__(self, backends: Sequence[str], io_backend: str) -> None:
        self.backends = _check_backends(backends)
        self.io_backend = io_backend
        self._inits: Dict[str, BaseTransform] = {}
        self._decodes: Dict[str, BaseTransform] = {}

    def init(self, name: str, results: dict) -> dict:
        """Open the video with one library; it must report frames."""
        if name not in self._inits:
            self._inits[name] = VIDEO_BACKENDS[name][0](
                io_backend=self.io_backend)
        results = self._inits[name](dict(results))
        if int(results.get('total_frames') or 0) <= 0:
            raise RuntimeError('no video frames found')
        return results

    def decode(self, name: str, results: dict) -> dict:
        """Decode ``frame_inds`` with one library and check the frames."""
        if name not in self._decodes:
            self._decodes[name] = VIDEO_BACKENDS[name][1]()
        frame_inds = np.asarray(results['frame_inds']).reshape(-1)
        if frame_inds.max() >= int(results['total_frames']):
            raise RuntimeError(
                f'frame index {int(frame_inds.max())} is beyond the '
                f"{results['total_frames']} frames this library reads")
        results = self._decodes[name](dict(results))
        imgs = results['imgs']
        if len(imgs) != len(frame_inds):
            raise RuntimeError(f'decoded {len(imgs)} frames, expected '
                               f'{len(frame_inds)}')
        shape = imgs[0].shape
        if len(shape) != 3 or shape[2] != 3 or any(img.shape != shape
                                                   for img in imgs):
            raise RuntimeError('decoded frames are not all (H, W, 3)')
        return results

    def missing(self, filename: str) -> bool:
        return self.io_backend == 'disk' and not osp.isfile(filename)

    def failure(self, filename: str, what: str,
                errors: List[str]) -> DataFileError:
        if self.missing(filename):
            return DataFileError(filename, 'video file not found')
        return DataFileError(
            filename, f'cannot {what} the video with any of '
            f'{list(self.backends)}: ' + '; '.join(errors))


def _finish_decode(results: dict, backend: str) -> dict:
    """Frames as contiguous uint8 RGB arrays, shapes recorded, reader closed.
    """
    imgs = [
        np.ascontiguousarray(img, dtype=np.uint8) for img in results['imgs']
    ]
    results['imgs'] = imgs
    results['ori_shape'] = results['img_shape'] = imgs[0].shape[:2]
    results['original_shape'] = imgs[0].shape[:2]
    results['video_reader'] = None
    results['video_backend'] = backend
    return results


@TRANSFORMS.register_module()
class VideoInit(BaseTransform):
    """Open a video with the first library that can, to learn its length.

    Tries mmaction2's ``DecordInit``, ``PyAVInit`` and ``OpenCVInit`` in the
    order of ``backends``. Frame sampling needs ``total_frames``, so this runs
    before the sampler, and :class:`VideoDecode` after it.

    Required keys: ``filename``.
    Added keys: ``video_reader``, ``total_frames``, ``video_backend``
    (the library that opened the video).

    Args:
        backends (Sequence[str]): Libraries to try, in order, among
            ``'decord'``, ``'pyav'``, ``'opencv'``. Defaults to all three.
        io_backend (str): mmengine file backend. Defaults to ``'disk'``.

    Raises:
        DataFileError: naming the file, when it is missing or no library
            can open it.
    """

    def __init__(self,
                 backends: Sequence[str] = ('decord', 'pyav', 'opencv'),
                 io_backend: str = 'disk') -> None:
        self.opener = _VideoOpener(backends, io_backend)

    def transform(self, results: dict) -> dict:
        """Open ``results['filename']``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with the keys above.
        """
        filename = results['filename']
        if self.opener.missing(filename):
            raise DataFileError(filename, 'video file not found')
        errors = []
        for name in self.opener.backends:
            try:
                out = self.opener.init(name, results)
            except Exception as err:  # each library raises its own types
                errors.append(_describe(name, err))
                continue
            out['video_backend'] = name
            return out
        raise self.opener.failure(filename, 'open', errors)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(backends={self.opener.backends}, '
                f'io_backend={self.opener.io_backend!r})')


@TRANSFORMS.register_module()
class VideoDecode(BaseTransform):
    """Decode ``frame_inds`` with the library that opened the video, falling
    back to the next ones if it fails.

    Uses mmaction2's ``DecordDecode``, ``PyAVDecode`` or ``OpenCVDecode``
    (accurate mode). A fallback library re-opens the video first.

    Required keys: ``filename``, ``frame_inds`` (0-based), ``video_reader``,
    ``total_frames``, ``video_backend`` (set by :class:`VideoInit`).
    Added keys: ``imgs`` (list of ``T`` uint8 RGB ``(H, W, 3)`` arrays),
    ``ori_shape``, ``img_shape``, ``original_shape`` (``(H, W)``);
    ``video_backend`` becomes the library that decoded the frames and
    ``video_reader`` is released (``None``).

    Args:
        backends (Sequence[str]): Libraries to fall back to, in order.
            Defaults to ``('decord', 'pyav', 'opencv')``.
        io_backend (str): mmengine file backend. Defaults to ``'disk'``.

    Raises:
        DataFileError: naming the file, when no library decodes the frames
            (e.g. a corrupt mp4).
    """

    def __init__(self,
                 backends: Sequence[str] = ('decord', 'pyav', 'opencv'),
                 io_backend: str = 'disk') -> None:
        self.opener = _VideoOpener(backends, io_backend)

    def transform(self, results: dict) -> dict:
        """Decode the clip.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with the keys above.
        """
        filename = results['filename']
        first = results.get('video_backend')
        if results.get('video_reader') is None or first not in VIDEO_BACKENDS:
            raise KeyError('VideoDecode needs the video opened by VideoInit '
                           "('video_reader', 'video_backend' are missing)")
        order = [first] + [b for b in self.opener.backends if b != first]
        errors = []
        for name in order:
            try:
                state = results if name == first else self.opener.init(
                    name, results)
                out = self.opener.decode(name, state)
            except Exception as err:  # each library raises its own types
                errors.append(_describe(name, err))
                continue
            return _finish_decode(out, name)
        results['video_reader'] = None
        raise self.opener.failure(filename, 'decode', errors)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(backends={self.opener.backends}, '
                f'io_backend={self.opener.io_backend!r})')


def probe_video(
    filename: str, backends: Sequence[str] = ('decord', 'pyav', 'opencv')
) -> Tuple[int, Tuple[int, int]]:
    """Number of frames and frame size of a video, with the same fallback
    and errors as the pipeline.

    Args:
        filename (str): The video file.
        backends (Sequence[str]): Libraries to try, in order.

    Returns:
        tuple: ``(total_frames, (H, W))``.

    Raises:
        DataFileError: naming the file, if it is missing or undecodable.
    """
    results = VideoInit(backends)(dict(filename=filename))
    total = int(results['total_frames'])
    results['frame_inds'] = np.zeros(1, dtype=np.int64)
    results = VideoDecode(backends)(results)
    return total, tuple(results['ori_shape'])


# --------------------------------------------------------------------------
# Clip sampling
# --------------------------------------------------------------------------
@TRANSFORMS.register_module()
class SampleAnnotatedClip(BaseTransform):
    """Sample one clip centred on the annotated frame.

    The annotated frame (1-based ``frame_id``, frame ``frame_id - 1`` of the
    video) lands at position ``clip_len // 2``; the other positions are
    ``frame_interval`` frames apart. Positions before the first or after the
    last frame repeat that edge frame, so every clip has ``clip_len`` frames
    and the annotated frame keeps its position. mmaction2's
    ``SampleFrames`` samples whole videos and cannot centre on a frame.

    Required keys: ``frame_id``, ``total_frames``, ``filename``.
    Added keys: ``frame_inds`` (int64 ``(clip_len, )``, 0-based),
    ``label_frame_index`` (``clip_len // 2``), ``clip_len``,
    ``frame_interval``, ``num_clips`` (1).

    Args:
        clip_len (int): Frames per clip. Defaults to 16.
        frame_interval (int): Temporal stride between sampled frames.
            Defaults to 1.

    Raises:
        DataFileError: naming the video, when the annotated frame lies
            beyond its last frame.
    """

    def __init__(self, clip_len: int = 16, frame_interval: int = 1) -> None:
        if int(clip_len) < 1 or int(frame_interval) < 1:
            raise ValueError('clip_len and frame_interval must be >= 1, got '
                             f'{clip_len} and {frame_interval}')
        self.clip_len = int(clip_len)
        self.frame_interval = int(frame_interval)

    def transform(self, results: dict) -> dict:
        """Sample the clip.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with the keys above.
        """
        total = int(results['total_frames'])
        frame_id = int(results['frame_id'])
        if not 1 <= frame_id <= total:
            raise DataFileError(
                results.get('filename', '<video>'),
                f'annotated frame {frame_id:05d} is outside the video, which '
                f'has {total} frames')
        centre = self.clip_len // 2
        offsets = (np.arange(self.clip_len) - centre) * self.frame_interval
        results['frame_inds'] = np.clip(frame_id - 1 + offsets, 0,
                                        total - 1).astype(np.int64)
        results['label_frame_index'] = centre
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = 1
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval})')


# --------------------------------------------------------------------------
# Annotations
# --------------------------------------------------------------------------
@TRANSFORMS.register_module()
class LoadA2DAnnotation(BaseTransform):
    """Load the annotated frame's labels into actor and action volumes.

    Reads the ``.mat`` (h5py, MATLAB axis order undone, doubles cast) or the
    colour PNG (decoded with the A2D colour table), checks ids and size, and
    splits joint ids into actor (``id // 10``) and action (``id % 10``)
    classes. Runs after decoding: the label map must match the frame size.

    Required keys: ``ann_file``, ``frame_inds``, ``label_frame_index``,
    ``ori_shape`` (or ``imgs``); ``label_source`` unless given here.
    Added keys: ``gt_actor_seg``, ``gt_action_seg`` (int64 ``(T, H, W)``,
    :data:`IGNORE_INDEX` on every frame but ``label_frame_index``),
    ``seg_fields`` (their names, for mmseg-style geometric transforms).

    Args:
        label_source (str, optional): ``'mat'`` or ``'col'``; ``None`` takes
            ``results['label_source']`` (set by ``A2DDataset``).
            Defaults to None.

    Raises:
        DataFileError: naming the annotation file, when it is missing,
            unreadable, has unknown label ids, or differs in size from the
            video frames.
    """

    def __init__(self, label_source: Optional[str] = None) -> None:
        if label_source not in (None, 'mat', 'col'):
            raise ValueError("label_source must be None, 'mat' or 'col', "
                             f'got {label_source!r}')
        self.label_source = label_source

    def transform(self, results: dict) -> dict:
        """Load the labels.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with the keys above.
        """
        file = results['ann_file']
        source = self.label_source or results.get('label_source', 'mat')
        label_map = read_a2d_annotation(file, source)
        if results.get('ori_shape') is not None:
            frame_shape = results['ori_shape']
        elif results.get('imgs'):
            frame_shape = results['imgs'][0].shape[:2]
        else:
            raise KeyError('LoadA2DAnnotation runs after video decoding: '
                           "'ori_shape' / 'imgs' are missing")
        check_annotation_size(file, label_map.shape, frame_shape)

        num_frames = len(results['frame_inds'])
        index = int(results['label_frame_index'])
        shape = (num_frames, ) + tuple(label_map.shape)
        actor = np.full(shape, IGNORE_INDEX, dtype=np.int64)
        action = np.full(shape, IGNORE_INDEX, dtype=np.int64)
        actor[index] = label_map // 10
        action[index] = label_map % 10
        results['gt_actor_seg'] = actor
        results['gt_action_seg'] = action
        fields = results.setdefault('seg_fields', [])
        for key in ('gt_actor_seg', 'gt_action_seg'):
            if key not in fields:
                fields.append(key)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(label_source={self.label_source!r})'
