import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmaction.registry import METRICS
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmengine.utils import mkdir_or_exist

from ssa2d_mm.datasets.a2d_labels import ids_to_color
from ssa2d_mm.datasets.transforms.processing import resize_label_map
from ssa2d_mm.evaluation.functional import (
    A2D_RESULT_KEYS, NUM_PROTOCOL_CLASSES, VIDOR_RESULT_KEYS,
    a2d_confusion_matrix, a2d_metrics, actor_action_to_joint,
    format_a2d_tables, format_class_table, format_summary_table, vidor_metrics,
    vidor_statistics)

# One sample's counts, kept sparse: {name: (shape, flat indices, counts)}.
_Sparse = Dict[str, Tuple[Tuple[int, ...], np.ndarray, np.ndarray]]


def _to_sparse(arrays: Dict[str, np.ndarray]) -> _Sparse:
    out = {}
    for name, arr in arrays.items():
        idx = np.flatnonzero(arr)
        out[name] = (arr.shape, idx.astype(np.int32), arr.ravel()[idx])
    return out


def _sum_sparse(results: Sequence[_Sparse]) -> Dict[str, np.ndarray]:
    total: Dict[str, np.ndarray] = {}
    for sample in results:
        for name, (shape, idx, counts) in sample.items():
            if name not in total:
                total[name] = np.zeros(int(np.prod(shape)), dtype=np.int64)
            elif total[name].size != int(np.prod(shape)):
                raise ValueError(f'{name}: samples disagree in shape')
            np.add.at(total[name], idx, counts)
    shapes = {n: s[0] for n, s in results[0].items()}
    return {n: v.reshape(shapes[n]) for n, v in total.items()}


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class ActorActionMetric(BaseMetric):
    """The A2D actor-action segmentation protocol (or its VidOR counterpart).

    Each data sample is one clip built around one annotated frame. The metric
    takes the frame ``label_frame_index`` of the prediction and of the
    ground truth, and counts pixels at the original resolution
    ``ori_shape`` (see :mod:`ssa2d_mm.evaluation.functional.a2d_protocol`
    for what is computed):

    - ``pred_actor_seg`` / ``pred_action_seg``: ``(T, H_ori, W_ori)``
      (VidOR actions ``(T, A, H_ori, W_ori)``, multi-hot), at ``ori_shape``;
      a different size raises.
    - ``gt_actor_seg`` / ``gt_action_seg``: ``(T, H, W)`` (VidOR actions
      ``(T, A, H, W)``), 255 = ignore. If ``(H, W)`` differs from
      ``ori_shape`` (a test pipeline that resized the labels with the
      frames), the annotated frame is resized back with nearest
      interpolation, which is only an approximation of the original
      annotation: test pipelines should keep the labels at the original
      size (resize the frames only). A crop cannot be undone: test
      pipelines must not crop.

    A2D predictions become joint ids with
    :func:`~ssa2d_mm.evaluation.functional.actor_action_to_joint` (a pixel
    with a background actor or action is background). Per sample the metric
    stores only pixel counts (the 64 x 64 confusion matrix, sparse), not
    maps, so memory stays small and the distributed collect (which drops the
    sampler's padding per sample) works.

    With ``output_dir``, each prediction's annotated frame is also written in
    A2D's official form, ``output_dir/<video_id>/<frame_id:05d>.png``, RGB
    colour-coded with the A2D table at full size, ready for
    ``tools/eval_a2d.py`` (A2D mode only).

    Args:
        mode (str): ``'a2d'`` (single-label actions, joint-id protocol) or
            ``'vidor'`` (multi-label actions). Defaults to ``'a2d'``.
        num_actor_classes (int): VidOR actor classes, background included.
            Defaults to 81.
        ignore_index (int): Ground-truth label of unannotated pixels.
            Defaults to 255.
        output_dir (str, optional): Where to write the official-form PNGs.
            Defaults to None.
        format_only (bool): Only write the PNGs, compute nothing (test sets
            without ground truth). Defaults to False.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the result keys. Defaults to None
            (keys as listed in ``A2D_RESULT_KEYS``).
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 mode: str = 'a2d',
                 num_actor_classes: int = 81,
                 ignore_index: int = 255,
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if mode not in ('a2d', 'vidor'):
            raise ValueError(f"mode must be 'a2d' or 'vidor', got {mode!r}")
        if output_dir is not None and mode != 'a2d':
            raise ValueError('output_dir writes A2D\'s official colour form; '
                             'it is only available with mode=\'a2d\'')
        if format_only and output_dir is None:
            raise ValueError('format_only=True needs output_dir')
        self.mode = mode
        self.num_actor_classes = num_actor_classes
        self.ignore_index = ignore_index
        self.output_dir = output_dir
        self.format_only = format_only
        if output_dir is not None and is_main_process():
            mkdir_or_exist(output_dir)

    @staticmethod
    def _annotated_frame(sample: dict, key: str) -> np.ndarray:
        """Frame ``label_frame_index`` of the volume ``sample[key]``."""
        if key not in sample:
            raise KeyError(f'the data sample has no {key!r}')
        volume = _to_numpy(sample[key])
        if 'label_frame_index' not in sample and volume.shape[0] > 1:
            raise KeyError(
                f'{key} has {volume.shape[0]} frames but the data sample has '
                'no label_frame_index metainfo to pick the annotated one')
        t = int(sample.get('label_frame_index', 0))
        if not 0 <= t < volume.shape[0]:
            raise ValueError(f'{key} has {volume.shape[0]} frames, but '
                             f'label_frame_index is {t}')
        return volume[t]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Count the pixels of each sample's annotated frame.

        Args:
            data_batch (dict): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs in dict form, with
                the fields and metainfo described in the class docstring.

        Raises:
            KeyError, ValueError: naming the sample's video and frame, for a
                missing field, a prediction not at ``ori_shape``, or labels
                outside the label space.
        """
        for sample in data_samples:
            try:
                counts = self._process_sample(sample)
            except (KeyError, ValueError) as err:
                name = f'video {sample.get("video_id")} frame ' \
                       f'{sample.get("frame_id")}'
                raise type(err)(f'{name}: {err.args[0]}') from err
            if counts is not None:
                self.results.append(_to_sparse(counts))

    def _process_sample(self, sample: dict) -> Optional[Dict[str, np.ndarray]]:
        """Pixel counts of one sample (None with ``format_only``)."""
        if 'ori_shape' not in sample:
            raise KeyError('the data sample has no ori_shape metainfo')
        ori_shape = tuple(int(s) for s in sample['ori_shape'][:2])
        pred_actor = self._annotated_frame(sample, 'pred_actor_seg')
        pred_action = self._annotated_frame(sample, 'pred_action_seg')
        if pred_actor.shape[-2:] != ori_shape or \
                pred_action.shape[-2:] != ori_shape:
            raise ValueError(f'predictions {pred_actor.shape} / '
                             f'{pred_action.shape} are not at the original '
                             f'size {ori_shape}')
        if self.mode == 'a2d':
            pred_joint = actor_action_to_joint(pred_actor, pred_action,
                                               self.ignore_index)
            if self.output_dir is not None:
                self._write_official(sample, pred_joint)
        if self.format_only:
            return None

        # Nearest (pixel centres matched, as the pipeline resized them) back
        # to the original size; a no-op at that size.
        gt_actor = resize_label_map(
            self._annotated_frame(sample, 'gt_actor_seg'), ori_shape)
        gt_action = resize_label_map(
            self._annotated_frame(sample, 'gt_action_seg'), ori_shape)
        if self.mode == 'a2d':
            return self._a2d_counts(gt_actor, gt_action, pred_joint)
        return vidor_statistics(gt_actor, gt_action, pred_actor, pred_action,
                                self.num_actor_classes, self.ignore_index)

    def _a2d_counts(self, gt_actor: np.ndarray, gt_action: np.ndarray,
                    pred_joint: np.ndarray) -> Dict[str, np.ndarray]:
        keep = (gt_actor != self.ignore_index) & (
            gt_action != self.ignore_index)
        # A2D's labels are joint ids: an actor without an action (or the
        # reverse) means the labels were built wrongly, not a background.
        half = keep & ((gt_actor > 0) != (gt_action > 0))
        if half.any():
            y, x = np.argwhere(half)[0]
            raise ValueError(
                f'ground truth has an actor without an action (or the '
                f'reverse), e.g. at pixel (x={x}, y={y}): actor '
                f'{gt_actor[y, x]}, action {gt_action[y, x]}')
        gt_joint = actor_action_to_joint(gt_actor, gt_action,
                                         self.ignore_index)
        return dict(
            confusion=a2d_confusion_matrix(gt_joint, pred_joint,
                                           self.ignore_index))

    def _write_official(self, sample: dict, pred_joint: np.ndarray) -> None:
        """Write ``output_dir/<video_id>/<frame_id:05d>.png`` (RGB table)."""
        if 'video_id' not in sample or 'frame_id' not in sample:
            raise KeyError('writing official-form predictions needs the '
                           'metainfo video_id and frame_id')
        path = osp.join(self.output_dir, str(sample['video_id']),
                        f'{int(sample["frame_id"]):05d}.png')
        mmcv.imwrite(mmcv.rgb2bgr(ids_to_color(pred_joint)), path)

    def compute_metrics(self, results: List[_Sparse]) -> Dict[str, float]:
        """Sum the counts of all samples and compute the scores.

        Args:
            results (list): Per-sample counts from :meth:`process`.

        Returns:
            dict[str, float]: ``actor_miou, action_miou, joint_miou,
            actor_acc_class, action_acc_class, joint_acc_class,
            actor_acc_global, action_acc_global, joint_acc_global``
            (fractions in [0, 1]; VidOR: ``actor_miou, action_miou,
            joint_miou, actor_acc_class, actor_acc_global``). The per-class
            tables go to the log.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if self.format_only:
            print_log(f'predictions are saved to {self.output_dir}', logger)
            return OrderedDict()
        if not results:
            raise ValueError('ActorActionMetric got no sample to evaluate')
        totals = _sum_sparse(results)
        if self.mode == 'a2d':
            n = NUM_PROTOCOL_CLASSES
            confusion = totals['confusion'].reshape(n, n)
            scores = a2d_metrics(confusion)
            tables = format_a2d_tables(scores)
            keys = A2D_RESULT_KEYS
        else:
            scores = vidor_metrics(totals)
            meta = self.dataset_meta or {}
            actor_names = meta.get('actor_classes') or [
                str(i) for i in range(len(scores['actor_iou']))
            ]
            action_names = meta.get('action_classes') or [
                str(i) for i in range(len(scores['action_iou']))
            ]
            tables = [
                format_class_table(
                    actor_names,
                    scores['actor_iou'],
                    keep=~np.isnan(scores['actor_iou'])),
                format_class_table(
                    action_names,
                    scores['action_iou'],
                    keep=~np.isnan(scores['action_iou'])),
                format_summary_table(scores, VIDOR_RESULT_KEYS)
            ]
            keys = VIDOR_RESULT_KEYS
        print_log(f'{self.mode} per-class results (%):', logger)
        for table in tables:
            print_log('\n' + table, logger)
        return OrderedDict((k, float(scores[k])) for k in keys)
