"""Pack a clip and its label volumes for the model."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ssa2d_mm.structures import ActorActionDataSample

#: Metainfo kept by default (see ``ActorActionDataSample``); keys missing
#: from the results are skipped.
DEFAULT_META_KEYS = ('video_id', 'frame_id', 'frame_inds', 'label_frame_index',
                     'ori_shape', 'img_shape', 'scale_factor', 'crop_bbox',
                     'flip', 'flip_direction', 'total_frames', 'filename')


@TRANSFORMS.register_module()
class PackActorActionInputs(BaseTransform):
    """Pack frames (and flow) as tensors and labels as a data sample.

    mmaction's ``PackActionInputs`` keeps clip-level labels and mmseg's
    ``PackSegInputs`` one ``(H, W)`` image; neither packs label volumes.

    Output ``inputs``:

    - RGB only: uint8 tensor ``(3, T, H, W)``, the layout that mmaction's
      ``ActionDataPreprocessor(format_shape='NCTHW')`` stacks into
      ``(N, 3, T, H, W)``.
    - with ``flow_imgs``: ``dict(imgs=(3, T, H, W) uint8,
      flow=(2, T, H, W) float32)``, for ``MultiModalDataPreprocessor`` with
      one preprocessor per key.

    Output ``data_samples``: an :class:`ActorActionDataSample` with
    ``gt_actor_seg`` (int64 ``(T, H, W)``) and ``gt_action_seg`` (int64
    ``(T, H, W)``, or uint8 multi-hot ``(T, A, H, W)``) when present, and the
    ``meta_keys`` found in the results as metainfo. Labels are at the clip's
    size, or at the original frame size ``ori_shape`` (test pipelines that
    load them after the resize, for evaluation at full resolution).

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo.
            Defaults to :data:`DEFAULT_META_KEYS`.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _pack_frames(frames: Sequence[np.ndarray], channels: int,
                     key: str) -> torch.Tensor:
        """List of ``T`` arrays ``(H, W, C)`` -> tensor ``(C, T, H, W)``."""
        if len(frames) == 0:
            raise ValueError(f'PackActorActionInputs: {key} is empty.')
        clip = np.stack(frames)
        if clip.ndim != 4 or clip.shape[-1] != channels:
            raise ValueError(
                f'PackActorActionInputs: {key} must be a list of (H, W, '
                f'{channels}) arrays, got frames of shape {clip.shape[1:]}.')
        return torch.from_numpy(
            np.ascontiguousarray(clip.transpose(3, 0, 1, 2)))

    def transform(self, results: Dict) -> Dict:
        """Pack the results.

        Args:
            results (dict): The result dict.

        Returns:
            dict: ``dict(inputs=..., data_samples=ActorActionDataSample)``.
        """
        if 'imgs' not in results:
            raise KeyError('PackActorActionInputs needs imgs in the results.')
        imgs = self._pack_frames(results['imgs'], 3, 'imgs')
        clip_shape = tuple(imgs.shape[1:])
        if results.get('flow_imgs') is not None:
            flow = self._pack_frames(results['flow_imgs'], 2,
                                     'flow_imgs').float()
            if tuple(flow.shape[1:]) != clip_shape:
                raise ValueError(
                    'PackActorActionInputs: flow_imgs (T, H, W) = '
                    f'{tuple(flow.shape[1:])} differs from imgs {clip_shape}.')
            inputs = dict(imgs=imgs, flow=flow)
        else:
            inputs = imgs

        data_sample = ActorActionDataSample()
        for key in ('gt_actor_seg', 'gt_action_seg'):
            if results.get(key) is None:
                continue
            label = np.asarray(results[key])
            # (T, A, H, W) multi-hot maps stay uint8; index maps are int64.
            dtype = np.uint8 if label.ndim == 4 else np.int64
            label = np.ascontiguousarray(label, dtype=dtype)
            shape = (label.shape[0], ) + label.shape[-2:]
            # Test pipelines load labels after resizing the frames, so the
            # metric scores them at the original frame size (ori_shape).
            ori = results.get('ori_shape')
            allowed = {clip_shape}
            if ori is not None:
                allowed.add((clip_shape[0], *tuple(ori)[:2]))
            if shape not in allowed:
                raise ValueError(
                    f'PackActorActionInputs: {key} covers (T, H, W) = {shape} '
                    f'but the clip is {clip_shape} (original frame size '
                    f'{ori}).')
            setattr(data_sample, key, torch.from_numpy(label))

        data_sample.set_metainfo(
            {k: results[k]
             for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
