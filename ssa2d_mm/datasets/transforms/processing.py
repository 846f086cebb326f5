"""Geometric transforms applied jointly to a clip's frames, flow and labels.

mmaction2's ``Resize`` / ``RandomCrop`` / ``CenterCrop`` / ``Flip`` transform
the frames (``imgs``) only: label maps and optical flow stay untouched, so a
segmentation pipeline built from them silently misaligns frames and labels.
The ``ClipSeg*`` transforms below apply one geometric operation identically to

- every frame of ``imgs`` (list of ``T`` arrays ``(H, W, 3)``),
- every flow field of ``flow_imgs`` (list of ``T`` arrays ``(H, W, 2)``, flow
  in pixels: the vectors are rescaled on resize and the x (y) component is
  negated on a horizontal (vertical) flip),
- every label map among ``gt_actor_seg``, ``gt_action_seg``, the extra
  ``seg_keys`` and the keys listed in ``results['seg_fields']`` (any array
  whose last two axes are ``(H, W)``, e.g. ``(T, H, W)``
  int64 or multi-hot ``(T, A, H, W)`` uint8), always with nearest-neighbour
  sampling so that no new label value appears.

``ori_shape`` is never modified: evaluation happens at the original size.
Colour augmentation needs no special version: mmaction's ``ColorJitter``
changes ``imgs`` only, which is right for labels and flow.
"""
from typing import Dict, List, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmaction.datasets.transforms import Resize
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

#: Label maps that every ``ClipSeg*`` transform handles by default.
SEG_KEYS: Tuple[str, ...] = ('gt_actor_seg', 'gt_action_seg')


def _label_keys(results: Dict, extra: Sequence[str]) -> List[str]:
    """Label keys present in ``results``: the defaults, ``extra``, and the
    mmseg-style ``seg_fields`` list that the loading transforms fill."""
    keys = []
    for key in (*SEG_KEYS, *extra, *results.get('seg_fields', ())):
        if key not in keys and results.get(key) is not None:
            keys.append(key)
    return keys


def _img_shape(results: Dict, name: str) -> Tuple[int, int]:
    """Current frame size ``(h, w)``: ``img_shape``, else the first frame."""
    if 'img_shape' not in results:
        if not results.get('imgs'):
            raise KeyError(f'{name} needs img_shape or imgs in the results.')
        results['img_shape'] = tuple(results['imgs'][0].shape[:2])
    return tuple(results['img_shape'])


def _check_label_shapes(results: Dict, keys: Sequence[str],
                        img_shape: Tuple[int, int], name: str) -> None:
    """Raise if a label map does not cover the current frame size."""
    for key in keys:
        shape = tuple(np.shape(results[key])[-2:])
        if shape != tuple(img_shape):
            raise ValueError(
                f'{name}: {key} has spatial size {shape} but the frames are '
                f'{tuple(img_shape)} (img_shape). Label maps must be loaded '
                'at frame size, before any geometric transform.')


def _check_flow(results: Dict, img_shape: Tuple[int, int], name: str) -> None:
    flows = results.get('flow_imgs')
    if flows is None:
        return
    for flow in flows:
        if flow.ndim != 3 or flow.shape[2] != 2 or tuple(
                flow.shape[:2]) != tuple(img_shape):
            raise ValueError(
                f'{name}: flow_imgs must be (H, W, 2) arrays of the frame '
                f'size {tuple(img_shape)}, got {flow.shape}.')


def resize_label_map(label: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of the last two axes of a label array.

    Pixel centres are matched (``src = floor((dst + 0.5) * in / out)``, as
    cv2's ``INTER_NEAREST_EXACT`` or torch's ``'nearest-exact'``), so labels
    stay aligned with bilinearly resized frames. Written with indexing rather
    than ``cv2.resize`` because cv2 handles neither int64 nor ``(T, A, H, W)``
    stacks.

    Args:
        label (np.ndarray): Labels ``(..., H, W)`` of any dtype.
        size (tuple[int, int]): Output ``(h, w)``.

    Returns:
        np.ndarray: Labels ``(..., h, w)``, same dtype, values taken from the
        input only.
    """
    in_h, in_w = label.shape[-2:]
    out_h, out_w = size
    rows = np.minimum(
        ((np.arange(out_h) + 0.5) * in_h / out_h).astype(np.int64), in_h - 1)
    cols = np.minimum(
        ((np.arange(out_w) + 0.5) * in_w / out_w).astype(np.int64), in_w - 1)
    return label[..., rows[:, None], cols[None, :]]


@TRANSFORMS.register_module()
class ClipSegResize(Resize):
    """Resize frames, flow and label maps of a clip to the same size.

    mmaction's ``Resize`` (whose size logic this class reuses) resizes frames
    only. Frames and flow use ``interpolation``; flow vectors are multiplied
    by the scale factor of their axis; label maps use nearest-neighbour
    sampling (:func:`resize_label_map`).

    Required keys: ``img_shape``, ``imgs`` (optional), ``flow_imgs``
    (optional), label maps (optional).
    Modified keys: ``imgs``, ``flow_imgs``, label maps, ``img_shape``.
    Added keys: ``scale_factor`` (``(w, h)`` ratios), ``keep_ratio``.

    Args:
        scale (float | tuple[int, int]): With ``keep_ratio=True``: a float
            rescales by that factor; ``(w, h)`` rescales as large as possible
            within ``(w, h)``; ``(-1, s)`` resizes the short side to ``s``.
            With ``keep_ratio=False``: the output ``(w, h)``.
        keep_ratio (bool): Keep the aspect ratio. Defaults to True.
        interpolation (str): Interpolation of frames and flow: ``'nearest'``,
            ``'bilinear'``, ``'bicubic'``, ``'area'``, ``'lanczos'``.
            Defaults to ``'bilinear'``.
        seg_keys (Sequence[str]): Label keys besides ``gt_actor_seg`` and
            ``gt_action_seg``. Defaults to ``()``.
    """

    def __init__(
        self,
        scale: Union[float, Tuple[int, int]],
        keep_ratio: bool = True,
        interpolation: str = 'bilinear',
        seg_keys: Sequence[str] = ()) -> None:
        if isinstance(scale, list):
            scale = tuple(scale)
        # Lazy mode is not offered: labels and flow must be resized now.
        super().__init__(
            scale,
            keep_ratio=keep_ratio,
            interpolation=interpolation,
            lazy=False)
        self.seg_keys = tuple(seg_keys)

    def transform(self, results: Dict) -> Dict:
        """Resize the clip.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with resized arrays.
        """
        old_h, old_w = _img_shape(results, 'ClipSegResize')
        keys = _label_keys(results, self.seg_keys)
        _check_label_shapes(results, keys, (old_h, old_w), 'ClipSegResize')
        _check_flow(results, (old_h, old_w), 'ClipSegResize')
        results = super().transform(results)
        new_h, new_w = results['img_shape']
        if results.get('flow_imgs') is not None:
            ratio = np.array([new_w / old_w, new_h / old_h], dtype=np.float32)
            results['flow_imgs'] = [
                mmcv.imresize(
                    flow,
                    (new_w, new_h), interpolation=self.interpolation).astype(
                        np.float32) * ratio for flow in results['flow_imgs']
            ]
        for key in keys:
            results[key] = resize_label_map(results[key], (new_h, new_w))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'keep_ratio={self.keep_ratio}, '
                f'interpolation={self.interpolation}, '
                f'seg_keys={self.seg_keys})')


def _pair(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """``int`` or ``(w, h)`` -> ``(w, h)``."""
    if isinstance(size, int):
        size = (size, size)
    size = tuple(size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise TypeError(f'{name}: size must be a positive int or a (w, h) '
                        f'pair of positive ints, got {size}.')
    return size


def crop_clip(results: Dict,
              crop_bbox: np.ndarray,
              seg_keys: Sequence[str] = ()) -> Dict:
    """Crop frames, flow and label maps of a clip to one box.

    Args:
        results (dict): The result dict.
        crop_bbox (np.ndarray): ``[x1, y1, x2, y2]`` (x2, y2 exclusive) in
            the current frame coordinates.
        seg_keys (Sequence[str]): Extra label keys.

    Returns:
        dict: The result dict; ``crop_bbox`` and ``img_shape`` are updated.
    """
    x1, y1, x2, y2 = (int(v) for v in crop_bbox)
    if 'imgs' in results:
        results['imgs'] = [img[y1:y2, x1:x2] for img in results['imgs']]
    if results.get('flow_imgs') is not None:
        results['flow_imgs'] = [f[y1:y2, x1:x2] for f in results['flow_imgs']]
    for key in _label_keys(results, seg_keys):
        results[key] = results[key][..., y1:y2, x1:x2]
    results['crop_bbox'] = np.array([x1, y1, x2, y2])
    results['img_shape'] = (y2 - y1, x2 - x1)
    return results


class _ClipSegCrop(BaseTransform):
    """Shared checks of the two crops."""

    name = 'ClipSegCrop'

    def _prepare(self, results: Dict) -> Tuple[int, int]:
        img_h, img_w = _img_shape(results, self.name)
        crop_w, crop_h = self.size
        if crop_w > img_w or crop_h > img_h:
            raise ValueError(
                f'{self.name}: crop size (w, h) = {self.size} is larger than '
                f'the frames ({img_w}, {img_h}); resize first.')
        _check_label_shapes(results, _label_keys(results, self.seg_keys),
                            (img_h, img_w), self.name)
        _check_flow(results, (img_h, img_w), self.name)
        return img_h, img_w


@TRANSFORMS.register_module()
class ClipSegRandomCrop(_ClipSegCrop):
    """Crop the same random window from every frame, flow field and label map.

    mmaction's ``RandomCrop`` crops frames only (and square windows only).

    Required keys: ``img_shape``, ``imgs``, ``flow_imgs`` (optional), label
    maps (optional).
    Modified keys: ``imgs``, ``flow_imgs``, label maps, ``img_shape``.
    Added keys: ``crop_bbox`` (``[x1, y1, x2, y2]`` in the coordinates of the
    frames before this crop).

    Args:
        size (int | tuple[int, int]): Crop size, an int for squares or
            ``(w, h)``.
        fg_attempts (int): Number of windows tried: the first one whose
            ``gt_actor_seg`` holds a foreground label (not 0, not 255) is
            kept, else the last one. ``1`` is a plain random crop.
            Defaults to 1.
        seg_keys (Sequence[str]): Label keys besides ``gt_actor_seg`` and
            ``gt_action_seg``. Defaults to ``()``.
    """

    name = 'ClipSegRandomCrop'

    def __init__(self,
                 size: Union[int, Tuple[int, int]],
                 fg_attempts: int = 1,
                 seg_keys: Sequence[str] = ()) -> None:
        self.size = _pair(size, self.name)
        if fg_attempts < 1:
            raise ValueError(f'fg_attempts must be >= 1, got {fg_attempts}')
        self.fg_attempts = fg_attempts
        self.seg_keys = tuple(seg_keys)

    def _random_bbox(self, img_h: int, img_w: int) -> np.ndarray:
        crop_w, crop_h = self.size
        # randint's upper bound is exclusive: +1 lets the window touch the
        # right/bottom border.
        x1 = np.random.randint(0, img_w - crop_w + 1)
        y1 = np.random.randint(0, img_h - crop_h + 1)
        return np.array([x1, y1, x1 + crop_w, y1 + crop_h])

    def transform(self, results: Dict) -> Dict:
        """Crop the clip at a random position.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with cropped arrays.
        """
        img_h, img_w = self._prepare(results)
        actor = results.get('gt_actor_seg')
        bbox = self._random_bbox(img_h, img_w)
        if actor is not None and self.fg_attempts > 1:
            for attempt in range(self.fg_attempts):
                if attempt:
                    bbox = self._random_bbox(img_h, img_w)
                x1, y1, x2, y2 = bbox
                window = actor[..., y1:y2, x1:x2]
                if np.any((window != 0) & (window != 255)):
                    break
        return crop_clip(results, bbox, self.seg_keys)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'fg_attempts={self.fg_attempts}, seg_keys={self.seg_keys})')


@TRANSFORMS.register_module()
class ClipSegCenterCrop(_ClipSegCrop):
    """Crop the central window from every frame, flow field and label map.

    mmaction's ``CenterCrop`` crops frames only.

    Required keys: ``img_shape``, ``imgs``, ``flow_imgs`` (optional), label
    maps (optional).
    Modified keys: ``imgs``, ``flow_imgs``, label maps, ``img_shape``.
    Added keys: ``crop_bbox``.

    Args:
        crop_size (int | tuple[int, int]): Crop size, an int for squares or
            ``(w, h)``.
        seg_keys (Sequence[str]): Label keys besides ``gt_actor_seg`` and
            ``gt_action_seg``. Defaults to ``()``.
    """

    name = 'ClipSegCenterCrop'

    def __init__(
        self,
        crop_size: Union[int, Tuple[int, int]],
        seg_keys: Sequence[str] = ()
    ) -> None:
        self.size = _pair(crop_size, self.name)
        self.seg_keys = tuple(seg_keys)

    def transform(self, results: Dict) -> Dict:
        """Crop the clip at its centre.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with cropped arrays.
        """
        img_h, img_w = self._prepare(results)
        crop_w, crop_h = self.size
        x1 = (img_w - crop_w) // 2
        y1 = (img_h - crop_h) // 2
        return crop_clip(results, np.array([x1, y1, x1 + crop_w, y1 + crop_h]),
                         self.seg_keys)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.size}, '
                f'seg_keys={self.seg_keys})')


@TRANSFORMS.register_module()
class ClipSegFlip(BaseTransform):
    """Flip every frame, flow field and label map of a clip together.

    mmaction's ``Flip`` flips frames only. A flipped flow field also reverses
    its motion along the flip axis: the x component is negated for a
    horizontal flip, the y component for a vertical one.

    Required keys: ``imgs``, ``flow_imgs`` (optional), label maps (optional).
    Modified keys: ``imgs``, ``flow_imgs``, label maps.
    Added keys: ``flip`` (bool), ``flip_direction``.

    Args:
        flip_ratio (float): Probability of flipping. Defaults to 0.5.
        direction (str): ``'horizontal'`` or ``'vertical'``.
            Defaults to ``'horizontal'``.
        seg_keys (Sequence[str]): Label keys besides ``gt_actor_seg`` and
            ``gt_action_seg``. Defaults to ``()``.
    """

    _directions = ('horizontal', 'vertical')

    def __init__(
        self,
        flip_ratio: float = 0.5,
        direction: str = 'horizontal',
        seg_keys: Sequence[str] = ()) -> None:
        if direction not in self._directions:
            raise ValueError(f'ClipSegFlip: direction must be one of '
                             f'{self._directions}, got {direction!r}')
        if not 0 <= flip_ratio <= 1:
            raise ValueError(
                f'ClipSegFlip: flip_ratio must be in [0, 1], got {flip_ratio}')
        self.flip_ratio = flip_ratio
        self.direction = direction
        self.seg_keys = tuple(seg_keys)

    def transform(self, results: Dict) -> Dict:
        """Flip the clip with probability ``flip_ratio``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict, flipped or not.
        """
        flip = bool(np.random.rand() < self.flip_ratio)
        results['flip'] = flip
        results['flip_direction'] = self.direction
        if not flip:
            return results
        axis = 1 if self.direction == 'horizontal' else 0
        if 'imgs' in results:
            results['imgs'] = [
                mmcv.imflip(img, self.direction) for img in results['imgs']
            ]
        if results.get('flow_imgs') is not None:
            sign = np.array(
                [-1, 1] if axis == 1 else [1, -1], dtype=np.float32)
            results['flow_imgs'] = [
                mmcv.imflip(flow, self.direction) * sign
                for flow in results['flow_imgs']
            ]
        label_axis = -1 if axis == 1 else -2
        for key in _label_keys(results, self.seg_keys):
            results[key] = np.ascontiguousarray(
                np.flip(results[key], axis=label_axis))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(flip_ratio={self.flip_ratio}, '
                f'direction={self.direction}, seg_keys={self.seg_keys})')


__all__ = [
    'ClipSegResize', 'ClipSegRandomCrop', 'ClipSegCenterCrop', 'ClipSegFlip',
    'resize_label_map', 'crop_clip', 'SEG_KEYS'
]
