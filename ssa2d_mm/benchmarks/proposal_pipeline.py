"""The proposal-based (detect-then-classify) baseline, from real library parts.

What SSA2D replaces: a per-frame instance segmenter finds actors and their
masks, then an RoI action head classifies each actor from clip features.
Both stages are OpenMMLab's own models, built from the configs they ship:

* actors: mmdet's Mask R-CNN R50-FPN (``mmdet::mask_rcnn/
  mask-rcnn_r50_fpn_1x_coco.py``), run on every frame, with its RPN and
  R-CNN test settings forced to keep exactly ``num_actors`` proposals and
  detections (score threshold 0, NMS at IoU 1.0, ``max_per_img`` N), so the
  cost is that of N actors whatever the (untrained) scores;
* actions: mmaction2's AVA detector (``mmaction::detection/slowonly/
  slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py``):
  ``FastRCNN`` with a ``ResNet3dSlowOnly`` R50 clip backbone and
  ``AVARoIHead`` (``SingleRoIExtractor3D`` with RoIAlign +
  ``BBoxHeadAVA``), fed every frame's detections as proposals. SlowOnly,
  not I3D: it is the clip backbone mmaction2 pairs with this head (it keeps
  time and ends at stride 16, as the RoI extractor expects), while
  mmaction2's I3D-style ``ResNet3d`` collapses time.

The result is painted into the same label volumes as SSA2D's ``predict``
(``pred_actor_seg``, ``pred_action_seg``, ``pred_fg_seg``), so both answer
the same question for the same clip. Weights are untrained (random): the
baseline measures cost, not accuracy.

RoIAlign and NMS are compiled mmcv ops: this module needs full mmcv and
mmdet (:func:`require_full_mmcv`).
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmaction.registry import MODELS
from mmengine.config import Config, ConfigDict
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from ..structures import ActorActionDataSample

#: How to get the baseline's dependencies (docs/benchmark.md has the same).
FULL_MMCV_HINT = (
    'Install the benchmark extra and full mmcv 2.1.0 with compiled ops: '
    '`pip install -e .[bench]` (mmdet==3.3.0), then build mmcv from source '
    'over mmcv-lite: `pip install "setuptools>=77.0.3,<82" wheel ninja && '
    'MMCV_WITH_OPS=1 MAX_JOBS=2 pip install --no-build-isolation '
    'mmcv==2.1.0` (about 20 minutes on 2 cores; see docs/benchmark.md). '
    'SSA2D itself needs neither.')

DETECTOR_CONFIG = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
ACTION_CONFIG = ('mmaction::detection/slowonly/slowonly_kinetics400-'
                 'pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py')


class BaselineUnavailableError(ImportError):
    """The proposal-based baseline cannot run in this environment."""


def require_full_mmcv() -> None:
    """Raise :class:`BaselineUnavailableError` unless full mmcv and mmdet
    are importable (compiled RoIAlign / NMS and the detector registry).

    Raises:
        BaselineUnavailableError: with the install commands.
    """
    from ..compat import mmcv_has_compiled_ops

    missing = []
    if not mmcv_has_compiled_ops():
        missing.append('mmcv with compiled ops (this environment has '
                       'mmcv-lite: no mmcv._ext, so no RoIAlign / NMS)')
    try:
        import mmdet  # noqa: F401
    except ImportError:
        missing.append('mmdet')
    if missing:
        raise BaselineUnavailableError(
            'ssa2d_mm/benchmarks/proposal_pipeline.py: the proposal-based '
            'baseline (Mask R-CNN + AVA RoI action head) needs ' +
            ' and '.join(missing) + '. ' + FULL_MMCV_HINT)
    # Register mmdet's models, and mmaction2's RoI heads into mmdet's
    # registry (mmaction.models.roi_heads does that only if mmdet imports).
    import mmaction.models.roi_heads  # noqa: F401
    import mmdet.models  # noqa: F401


def _load_model_cfg(cfg: Union[str, dict]) -> ConfigDict:
    """The ``model`` dict of an OpenMMLab config file, or ``cfg`` itself."""
    if isinstance(cfg, str):
        if '::' in cfg:
            from mmengine.hub import get_config
            return get_config(cfg).model
        return Config.fromfile(cfg).model
    return ConfigDict(copy.deepcopy(cfg))


def detector_cfg(num_actors: int,
                 config: Union[str, dict] = DETECTOR_CONFIG,
                 num_classes: int = 7) -> ConfigDict:
    """Mask R-CNN's model config, forced to keep ``num_actors`` detections.

    Args:
        num_actors (int): proposals kept by the RPN and detections kept by
            the R-CNN, per frame.
        config (str | dict): an mmdet config path (``mmdet::`` form) or a
            model dict. Defaults to mmdet's Mask R-CNN R50-FPN 1x.
        num_classes (int): actor classes without background. Defaults to 7
            (A2D).

    Returns:
        ConfigDict: the model config.
    """
    cfg = _load_model_cfg(config)
    # Untrained weights: no ImageNet download.
    cfg.backbone.init_cfg = None
    cfg.pop('init_cfg', None)
    # Clips are packed RGB here; mmdet's default expects BGR files.
    cfg.data_preprocessor.bgr_to_rgb = False
    cfg.roi_head.bbox_head.num_classes = num_classes
    cfg.roi_head.mask_head.num_classes = num_classes
    # NMS at IoU 1.0 suppresses nothing, score_thr 0 drops nothing: exactly
    # num_actors boxes survive each stage, whatever the scores.
    cfg.test_cfg.rpn.max_per_img = num_actors
    cfg.test_cfg.rpn.nms_pre = max(cfg.test_cfg.rpn.nms_pre, num_actors)
    cfg.test_cfg.rpn.nms = dict(type='nms', iou_threshold=1.0)
    cfg.test_cfg.rcnn.score_thr = 0.0
    cfg.test_cfg.rcnn.nms = dict(type='nms', iou_threshold=1.0)
    cfg.test_cfg.rcnn.max_per_img = num_actors
    return cfg


def action_detector_cfg(config: Union[str, dict] = ACTION_CONFIG,
                        num_classes: int = 10) -> ConfigDict:
    """mmaction2's AVA ``FastRCNN`` config, as an A2D action classifier.

    Args:
        config (str | dict): an mmaction2 config path (``mmaction::`` form)
            or a model dict. Defaults to the SlowOnly R50 AVA 2.1 detector.
        num_classes (int): action classes, class 0 = background. Defaults to
            10 (A2D).

    Returns:
        ConfigDict: the model config.
    """
    cfg = _load_model_cfg(config)
    cfg.pop('init_cfg', None)
    cfg.backbone.pretrained = None
    head = cfg.roi_head.bbox_head
    head.num_classes = num_classes
    # A2D: one action per actor, class 0 = background (AVA is multi-label).
    head.background_class = True
    head.multilabel = False
    return cfg


@MODELS.register_module()
class ProposalActorActionPipeline(BaseModel):
    """Detect-then-classify actor-action segmentation (the baseline).

    Per clip ``(3, T, H, W)``: Mask R-CNN on each frame gives ``num_actors``
    boxes, actor classes and masks; the AVA RoI head classifies an action for
    each of the ``T x num_actors`` boxes from SlowOnly features of the clip;
    the masks are painted (higher score on top) into actor / action / fg
    label volumes.

    Args:
        num_actors (int): actors (proposals and detections) per frame.
            Defaults to 16.
        detector (str | dict): mmdet Mask R-CNN config path or model dict.
            Defaults to :data:`DETECTOR_CONFIG`.
        action_detector (str | dict): mmaction2 AVA detector config path or
            model dict. Defaults to :data:`ACTION_CONFIG`.
        num_actor_classes (int): actor classes, background included.
            Defaults to 8 (A2D).
        num_action_classes (int): action classes, background included.
            Defaults to 10 (A2D).
        det_batch_size (int, optional): frames per detector call; None runs
            all frames of a clip at once. Defaults to None.
        data_preprocessor (dict, optional): the pipeline's own (only casts
            and moves); each stage normalises with its own preprocessor.
        init_cfg (dict, optional): unused (weights stay random).
    """

    def __init__(self,
                 num_actors: int = 16,
                 detector: Union[str, dict] = DETECTOR_CONFIG,
                 action_detector: Union[str, dict] = ACTION_CONFIG,
                 num_actor_classes: int = 8,
                 num_action_classes: int = 10,
                 det_batch_size: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        require_full_mmcv()
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_actors < 1:
            raise ValueError('ssa2d_mm/benchmarks/proposal_pipeline.py: '
                             f'num_actors must be >= 1, got {num_actors}')
        if det_batch_size is not None and det_batch_size < 1:
            raise ValueError('ssa2d_mm/benchmarks/proposal_pipeline.py: '
                             'det_batch_size must be >= 1 or None')
        from mmdet.registry import MODELS as MMDET_MODELS

        self.num_actors = num_actors
        self.det_batch_size = det_batch_size
        self.num_actor_classes = num_actor_classes
        self.num_action_classes = num_action_classes
        with DefaultScope.overwrite_default_scope('mmdet'):
            self.detector = MMDET_MODELS.build(
                detector_cfg(num_actors, detector, num_actor_classes - 1))
            self.action_detector = MMDET_MODELS.build(
                action_detector_cfg(action_detector, num_action_classes))

    # ------------------------------------------------------------------
    def forward(self,
                inputs: Union[torch.Tensor, Sequence[torch.Tensor]],
                data_samples: Optional[List[ActorActionDataSample]] = None,
                mode: str = 'predict'):
        """mmengine's entry point.

        Args:
            inputs (Tensor | list[Tensor]): clips of raw pixel values
                (0-255, RGB), ``(N, 3, T, H, W)`` or a list of
                ``(3, T, H, W)``.
            data_samples (list[ActorActionDataSample], optional): metainfo
                (``ori_shape``, ``img_shape``).
            mode (str): ``'predict'`` (data samples with label volumes) or
                ``'tensor'`` (per clip: boxes ``(T, N, 4)``, actor labels
                ``(T, N)``, scores ``(T, N)``, masks ``(T, N, H, W)`` and
                action scores ``(T, N, A)``).
        """
        if mode == 'loss':
            raise NotImplementedError(
                'ssa2d_mm/benchmarks/proposal_pipeline.py: the proposal '
                'baseline is measured at inference only; its two stages are '
                'trained separately (mmdet, mmaction2), which is what a '
                'single-shot model avoids')
        if mode not in ('predict', 'tensor'):
            raise RuntimeError('ssa2d_mm/benchmarks/proposal_pipeline.py: '
                               f'invalid mode {mode!r}; use predict or tensor')
        clips = list(inputs) if not isinstance(inputs, torch.Tensor) \
            else list(inputs.unbind(0))
        if data_samples is None:
            data_samples = [
                ActorActionDataSample(
                    metainfo=dict(ori_shape=tuple(c.shape[-2:])))
                for c in clips
            ]
        if len(data_samples) != len(clips):
            raise ValueError('ssa2d_mm/benchmarks/proposal_pipeline.py: '
                             f'{len(data_samples)} data samples for '
                             f'{len(clips)} clips')
        outs = [self._run_clip(c, s) for c, s in zip(clips, data_samples)]
        if mode == 'tensor':
            return outs
        for out, sample in zip(outs, data_samples):
            self._paint(out, sample)
        return data_samples

    # ------------------------------------------------------------------
    def _frame_meta(self, clip: torch.Tensor,
                    sample: ActorActionDataSample) -> Dict[str, tuple]:
        h, w = clip.shape[-2:]
        img_shape = tuple(sample.metainfo.get('img_shape', (h, w)))[:2]
        ori_shape = tuple(sample.metainfo.get('ori_shape', img_shape))[:2]
        return dict(
            img_shape=img_shape,
            ori_shape=ori_shape,
            scale_factor=(img_shape[1] / ori_shape[1],
                          img_shape[0] / ori_shape[0]))

    def _detect(self, clip: torch.Tensor, meta: dict) -> List[InstanceData]:
        """Mask R-CNN on every frame of ``clip`` ``(3, T, H, W)``."""
        from mmdet.structures import DetDataSample

        frames = list(clip.unbind(1))
        step = self.det_batch_size or len(frames)
        results = []
        for start in range(0, len(frames), step):
            chunk = frames[start:start + step]
            data = self.detector.data_preprocessor(
                dict(
                    inputs=chunk,
                    data_samples=[
                        DetDataSample(metainfo=dict(meta)) for _ in chunk
                    ]), False)
            preds = self.detector(**data, mode='predict')
            results.extend(p.pred_instances for p in preds)
        return results

    def _classify_actions(self, clip: torch.Tensor, boxes: torch.Tensor,
                          meta: dict) -> torch.Tensor:
        """AVA RoI head scores ``(K, A)`` for ``boxes`` ``(K, 4)`` given in
        input-image coordinates."""
        from mmaction.structures import ActionDataSample

        sample = ActionDataSample(
            metainfo=dict(img_shape=meta['img_shape']))
        sample.proposals = InstanceData(bboxes=boxes)
        data = self.action_detector.data_preprocessor(
            dict(inputs=[clip], data_samples=[sample]), False)
        pred = self.action_detector(**data, mode='predict')[0]
        return pred.pred_instances.scores

    def _run_clip(self, clip: torch.Tensor,
                  sample: ActorActionDataSample) -> Dict[str, torch.Tensor]:
        if clip.dim() != 4 or clip.shape[0] != 3:
            raise ValueError('ssa2d_mm/benchmarks/proposal_pipeline.py: a '
                             'clip must be (3, T, H, W), got '
                             f'{tuple(clip.shape)}')
        meta = self._frame_meta(clip, sample)
        dets = self._detect(clip, meta)
        n = self.num_actors
        counts = [len(d) for d in dets]
        if min(counts) < n:
            raise RuntimeError(
                'ssa2d_mm/benchmarks/proposal_pipeline.py: the detector kept '
                f'{min(counts)} < num_actors={n} boxes on a frame (image too '
                'small for that many anchors?)')
        boxes = torch.stack([d.bboxes[:n] for d in dets])  # (T, N, 4), ori
        sx, sy = meta['scale_factor']
        scale = boxes.new_tensor([sx, sy, sx, sy])
        action_scores = self._classify_actions(
            clip.float(), (boxes * scale).flatten(0, 1), meta)
        return dict(
            bboxes=boxes,
            labels=torch.stack([d.labels[:n] for d in dets]),
            scores=torch.stack([d.scores[:n] for d in dets]),
            masks=torch.stack([d.masks[:n] for d in dets]),
            action_scores=action_scores.reshape(len(dets), n, -1))

    @staticmethod
    def _paint(out: Dict[str, torch.Tensor],
               sample: ActorActionDataSample) -> None:
        """Instance masks -> label volumes; the higher score wins overlaps.

        No upstream piece paints instances into a semantic map with a second
        (action) label per instance, hence this loop-free helper.
        """
        masks = out['masks'].bool()  # (T, N, H, W)
        rank = out['scores'].argsort(dim=1).argsort(dim=1) + 1  # 1..N
        owner = (masks * rank[..., None, None]).argmax(dim=1)  # (T, H, W)
        fg = masks.any(dim=1)
        actor = out['labels'].gather(1, owner.flatten(1)).view_as(owner) + 1
        # Foreground pixels take a non-background action, as SSA2D's do.
        action = out['action_scores'][..., 1:].argmax(dim=-1) + 1  # (T, N)
        action = action.gather(1, owner.flatten(1)).view_as(owner)
        zero = torch.zeros_like(actor)
        sample.pred_actor_seg = torch.where(fg, actor, zero)
        sample.pred_action_seg = torch.where(fg, action, zero)
        sample.pred_fg_seg = fg.long()
        sample.set_metainfo(dict(num_actors=int(masks.shape[1])))
