"""Turn a VidOR clip's box annotations into pixel label volumes."""
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ..vidor_labels import (load_vidor_annotation, rasterize_vidor_clip,
                            vidor_predicates)


@TRANSFORMS.register_module()
class LoadVidORAnnotation(BaseTransform):
    """Rasterise the boxes and relations of a VidOR clip into label maps.

    See :func:`ssa2d_mm.datasets.vidor_labels.rasterize_vidor_clip` for the
    labelling rules (subjects only, larger boxes drawn first, multi-hot
    predicates active on each frame). Place it after video decoding: the maps
    are drawn at the decoded frame size ``ori_shape`` (boxes are scaled if
    that differs from the annotated size), also when a resize ran before it
    (test pipelines keep labels at full size for the metric).

    Required keys: ``ann_file`` (the video's JSON), ``frame_inds``;
    optional ``frame_valid`` (False where the clip ran past the video),
    ``ori_shape`` (decoded frame size; else the annotated size),
    ``action_predicates_only`` (set by :class:`VidORDataset`).
    Added keys: ``gt_actor_seg`` int64 ``(T, H, W)``, ``gt_action_seg``
    uint8 ``(T, A, H, W)``, ``ori_shape`` (if absent), ``img_shape`` (if
    absent), ``label_frame_index`` (if absent: the middle of the clip).

    Args:
        action_predicates_only (bool, optional): Label the 42 action
            predicates only (``A = 42``); else all 50 (``A = 50``). Spatial
            relations are then ignored, also when deciding which tids are
            subjects. None takes the dataset's choice from the results
            (False if absent). Defaults to None.
        cache_size (int): Parsed annotation files kept per worker, since
            consecutive samples often come from one video. Defaults to 8.
    """

    def __init__(self,
                 action_predicates_only: Optional[bool] = None,
                 cache_size: int = 8) -> None:
        self.action_predicates_only = action_predicates_only
        self.cache_size = cache_size
        self._cache: 'OrderedDict[str, dict]' = OrderedDict()

    def _load(self, path: str) -> dict:
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        anno = load_vidor_annotation(path)
        if self.cache_size > 0:
            self._cache[path] = anno
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return anno

    def transform(self, results: Dict) -> Dict:
        """Add the label volumes.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``gt_actor_seg`` / ``gt_action_seg``.
        """
        for key in ('ann_file', 'frame_inds'):
            if key not in results:
                raise KeyError(f'LoadVidORAnnotation needs {key} in the '
                               'results (set by VidORDataset).')
        anno = self._load(results['ann_file'])
        # Labels are drawn at the decoded frame size, also when this runs
        # after a resize (test pipelines: the metric scores full size).
        if 'ori_shape' in results:
            shape = tuple(results['ori_shape'])[:2]
        else:
            shape = (anno['height'], anno['width'])
            results['ori_shape'] = results['img_shape'] = shape
        frame_inds = np.asarray(results['frame_inds']).reshape(-1)
        action_only = self.action_predicates_only
        if action_only is None:
            action_only = bool(results.get('action_predicates_only', False))
        actor, action = rasterize_vidor_clip(
            anno,
            frame_inds,
            out_shape=shape,
            predicates=vidor_predicates(action_only),
            frame_valid=results.get('frame_valid'))
        results['gt_actor_seg'] = actor
        results['gt_action_seg'] = action
        results.setdefault('label_frame_index', len(frame_inds) // 2)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'action_predicates_only={self.action_predicates_only}, '
                f'cache_size={self.cache_size})')
