"""SSA2D: single-shot actor-action segmentation of video clips."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmaction.registry import MODELS

from ...datasets.a2d_labels import VALID_JOINT_IDS
from ...structures import ActorActionDataSample

Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]
SampleList = Optional[List[ActorActionDataSample]]

TEST_CFG_DEFAULTS = dict(
    fg_threshold=0.5, joint_decoding='argmax', action_threshold=0.5)
JOINT_DECODINGS = ('argmax', 'valid_pairs')


@MODELS.register_module()
class SSA2D(BaseModel):
    """Single-shot actor-action segmentation (Rana & Rawat, WACV 2021).

    backbone -> ``neck`` (:class:`SSA2DDecoder`) -> ``actor_head``
    (:class:`ActorHead`: actor logits, foreground logits, actor features)
    -> ``fusion`` (:class:`ObjectPriorFusion`: object prior + selective
    attention mask) -> ``action_head`` (:class:`ActionHead`).

    The attention mask (the foreground of the clip at the feature
    resolution) comes from the ground truth in ``loss`` and from the
    foreground head in ``predict`` / ``tensor``. In ``loss``, feature voxels
    that cover no annotated label voxel (A2D labels one frame of a clip, so
    most of the clip) take the predicted foreground, detached, instead; a
    covered voxel is foreground if at least half of the annotated label
    voxels it covers are actors.

    Two streams (RGB + optical flow): with ``flow_backbone``, ``inputs`` is
    ``dict(imgs=(N, 3, T, H, W), flow=(N, 2, T, H, W))`` and the levels of
    the two backbones are fused level by level (``stream_fusion``: ``'sum'``
    or ``'concat'`` on channels) before the decoder.

    Args:
        backbone (dict): Backbone config; it returns a tuple of levels, high
            resolution first (InceptionI3D, mmaction ``ResNet3dSlowOnly``
            with ``out_indices``, ``X3D``, ...).
        neck (dict): Decoder config.
        actor_head (dict): Actor head config. ``in_channels`` defaults to
            the decoder's ``out_channels``.
        fusion (dict): Fusion config. ``decoder_channels`` and
            ``actor_channels`` default to the decoder's and the actor head's
            widths.
        action_head (dict): Action head config. ``in_channels`` defaults to
            the fusion's ``out_channels``.
        flow_backbone (dict, optional): Backbone of the flow stream.
        stream_fusion (str): ``'sum'`` or ``'concat'``. Defaults to
            ``'sum'``.
        train_cfg (dict, optional): Unused; accepted for the usual config
            layout.
        test_cfg (dict, optional): ``fg_threshold`` (probability above which
            a voxel is foreground, default 0.5, also used for the predicted
            mask in ``loss``), ``joint_decoding`` (``'argmax'``: each branch
            independently; ``'valid_pairs'``: the A2D pair among
            ``VALID_JOINT_IDS`` maximising ``p_actor * p_action``; ignored by
            multi-label models) and ``action_threshold`` (multi-label
            sigmoid threshold, default 0.5).
        data_preprocessor (dict or nn.Module, optional): Defaults to
            mmaction's ``ActionDataPreprocessor(format_shape='NCTHW')``.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 actor_head: dict,
                 fusion: dict,
                 action_head: dict,
                 flow_backbone: Optional[dict] = None,
                 stream_fusion: str = 'sum',
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='ActionDataPreprocessor', format_shape='NCTHW')
        if isinstance(data_preprocessor, dict):
            # Built here from mmaction's registry, whatever the default scope.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if stream_fusion not in ('sum', 'concat'):
            raise ValueError("ssa2d.py: stream_fusion must be 'sum' or "
                             f"'concat', got {stream_fusion!r}")
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = {**TEST_CFG_DEFAULTS, **(test_cfg or {})}
        unknown = set(self.test_cfg) - set(TEST_CFG_DEFAULTS)
        if unknown:
            raise ValueError(f'ssa2d.py: unknown test_cfg keys {unknown}; '
                             f'known: {sorted(TEST_CFG_DEFAULTS)}')
        if self.test_cfg['joint_decoding'] not in JOINT_DECODINGS:
            raise ValueError(
                f'ssa2d.py: test_cfg.joint_decoding must be one of '
                f"{JOINT_DECODINGS}, got {self.test_cfg['joint_decoding']!r}")

        self.backbone = MODELS.build(backbone)
        self.flow_backbone = MODELS.build(flow_backbone) \
            if flow_backbone is not None else None
        self.stream_fusion = stream_fusion
        self.neck = MODELS.build(neck)

        actor_head = copy.deepcopy(actor_head)
        actor_head.setdefault('in_channels', self.neck.out_channels)
        _check_width('actor_head.in_channels', actor_head['in_channels'],
                     'the decoder out_channels', self.neck.out_channels)
        self.actor_head = MODELS.build(actor_head)

        fusion = copy.deepcopy(fusion)
        fusion.setdefault('decoder_channels', self.neck.out_channels)
        fusion.setdefault('actor_channels', self.actor_head.channels)
        _check_width('fusion.decoder_channels', fusion['decoder_channels'],
                     'the decoder out_channels', self.neck.out_channels)
        _check_width('fusion.actor_channels', fusion['actor_channels'],
                     'actor_head.channels', self.actor_head.channels)
        self.fusion = MODELS.build(fusion)

        action_head = copy.deepcopy(action_head)
        action_head.setdefault('in_channels', self.fusion.out_channels)
        _check_width('action_head.in_channels', action_head['in_channels'],
                     'the fusion out_channels', self.fusion.out_channels)
        self.action_head = MODELS.build(action_head)

        if self.test_cfg['joint_decoding'] == 'valid_pairs' and \
                not self.multi_label and (
                    self.actor_head.num_classes != 8
                    or self.action_head.num_classes != 10):
            raise ValueError(
                "ssa2d.py: joint_decoding='valid_pairs' decodes A2D pairs and "
                'needs 8 actor and 10 action classes, got '
                f'{self.actor_head.num_classes} and '
                f'{self.action_head.num_classes}')

    @property
    def multi_label(self) -> bool:
        """Whether actions are multi-label (sigmoid)."""
        return self.action_head.multi_label

    @property
    def ignore_index(self) -> int:
        """Label of unannotated voxels."""
        return self.actor_head.ignore_index

    # ------------------------------------------------------------------
    # Features
    # ------------------------------------------------------------------
    @staticmethod
    def _check_clip(x: torch.Tensor, name: str) -> torch.Tensor:
        # mmaction's packers may keep a clips axis: (N, 1, C, T, H, W).
        if x.dim() == 6 and x.shape[1] == 1:
            x = x.squeeze(1)
        if x.dim() != 5:
            raise ValueError(f'ssa2d.py: {name} must be (N, C, T, H, W), '
                             f'got {tuple(x.shape)}')
        return x

    @staticmethod
    def _levels(feats) -> Tuple[torch.Tensor, ...]:
        return (feats, ) if isinstance(feats, torch.Tensor) else tuple(feats)

    def _clip_of(self, inputs: Inputs) -> torch.Tensor:
        """The RGB clip of ``inputs`` (the tensor, or ``inputs['imgs']``)."""
        if isinstance(inputs, dict):
            if 'imgs' not in inputs:
                raise KeyError("ssa2d.py: dict inputs need 'imgs'")
            return self._check_clip(inputs['imgs'], "inputs['imgs']")
        return self._check_clip(inputs, 'inputs')

    def extract_feat(self, inputs: Inputs) -> torch.Tensor:
        """Backbone(s) and decoder.

        Args:
            inputs (torch.Tensor or dict): Clip ``(N, C, T, H, W)``, or
                ``dict(imgs=..., flow=...)`` for two streams.

        Returns:
            torch.Tensor: Decoder features ``(N, C, T', H', W')``.
        """
        imgs = self._clip_of(inputs)
        levels = self._levels(self.backbone(imgs))
        if self.flow_backbone is not None:
            if not isinstance(inputs, dict) or 'flow' not in inputs:
                raise KeyError('ssa2d.py: a model with flow_backbone needs '
                               "inputs=dict(imgs=..., flow=...)")
            flow = self._check_clip(inputs['flow'], "inputs['flow']")
            flow_levels = self._levels(self.flow_backbone(flow))
            levels = self._fuse_streams(levels, flow_levels)
        elif isinstance(inputs, dict) and 'flow' in inputs:
            raise KeyError("ssa2d.py: inputs hold 'flow' but the model has "
                           'no flow_backbone')
        return self.neck(levels)

    def _fuse_streams(
            self, rgb: Sequence[torch.Tensor],
            flow: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        if len(rgb) != len(flow):
            raise ValueError(f'ssa2d.py: the RGB backbone gives {len(rgb)} '
                             f'levels, the flow backbone {len(flow)}')
        fused = []
        for i, (a, b) in enumerate(zip(rgb, flow)):
            if a.shape[2:] != b.shape[2:] or (self.stream_fusion == 'sum'
                                              and a.shape[1] != b.shape[1]):
                raise ValueError(
                    f'ssa2d.py: level {i} of the two streams cannot be '
                    f"fused by '{self.stream_fusion}': {tuple(a.shape)} vs "
                    f'{tuple(b.shape)}')
            if self.stream_fusion == 'sum':
                fused.append(a + b)
            else:
                fused.append(torch.cat([a, b], dim=1))
        return tuple(fused)

    def predicted_fg(self, fg_logits: torch.Tensor) -> torch.Tensor:
        """Binary foreground ``(N, 1, T', H', W')`` from ``(N, 2, ...)``
        logits: foreground probability above ``test_cfg.fg_threshold``."""
        prob = fg_logits.softmax(dim=1)[:, 1:2]
        return (prob > self.test_cfg['fg_threshold']).to(fg_logits.dtype)

    def gt_fg_mask(self, gt_actor: torch.Tensor,
                   size: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Ground-truth foreground at the feature resolution.

        Args:
            gt_actor (torch.Tensor): Labels ``(N, T, H, W)``.
            size (Sequence[int]): Feature size ``(T', H', W')``.

        Returns:
            tuple[torch.Tensor]: ``mask`` ``(N, 1, T', H', W')`` (1 where at
            least half of the covered annotated voxels are actors) and
            ``annotated`` (bool, same shape: covers an annotated voxel).
        """
        valid = (gt_actor != self.ignore_index).unsqueeze(1).float()
        fg = ((gt_actor > 0) &
              (gt_actor != self.ignore_index)).unsqueeze(1).float()
        # Area pooling keeps a labelled frame however the time axis shrinks.
        valid_frac = F.adaptive_avg_pool3d(valid, tuple(size))
        fg_frac = F.adaptive_avg_pool3d(fg, tuple(size))
        annotated = valid_frac > 0
        mask = annotated & (fg_frac > 0) & (2 * fg_frac >= valid_frac)
        return mask.float(), annotated

    def _forward_heads(
        self,
        inputs: Inputs,
        gt_actor: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.extract_feat(inputs)
        actor_logits, fg_logits, actor_feats = self.actor_head(feats)
        mask = self.predicted_fg(fg_logits)
        if gt_actor is not None:
            gt_mask, annotated = self.gt_fg_mask(gt_actor, feats.shape[2:])
            mask = torch.where(annotated, gt_mask, mask.detach())
        fused = self.fusion(feats, actor_feats, mask)
        return actor_logits, fg_logits, self.action_head(fused)

    # ------------------------------------------------------------------
    # Modes
    # ------------------------------------------------------------------
    def forward(self,
                inputs: Inputs,
                data_samples: SampleList = None,
                mode: str = 'tensor'):
        """mmengine's entry point.

        Args:
            inputs (torch.Tensor or dict): ``(N, C, T, H, W)`` clips (or
                ``dict(imgs=..., flow=...)``).
            data_samples (list[ActorActionDataSample], optional): Labels
                (``loss``) and metainfo (``predict``).
            mode (str): ``'loss'`` (dict of losses), ``'predict'`` (the data
                samples with predictions) or ``'tensor'`` (the raw logits
                ``(actor_logits, fg_logits, action_logits)``, predicted
                mask).
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward_heads(inputs)
        raise RuntimeError(f'ssa2d.py: invalid mode {mode!r}; use loss, '
                           'predict or tensor')

    def _stack_labels(self, data_samples: SampleList, field: str,
                      size: Sequence[int], pad_value: int) -> torch.Tensor:
        """Stack ``field`` of the samples, padding ``(T, ..., H, W)`` at the
        end to the batch input ``size`` ``(T, H, W)`` with ``pad_value``, as
        the data preprocessor pads the clips."""
        if not data_samples:
            raise ValueError('ssa2d.py: loss mode needs data_samples')
        out = []
        for i, sample in enumerate(data_samples):
            if not hasattr(sample, field):
                raise KeyError(f'ssa2d.py: data sample {i} has no {field}')
            label = getattr(sample, field)
            t, h, w = label.shape[0], label.shape[-2], label.shape[-1]
            if t > size[0] or h > size[1] or w > size[2]:
                raise ValueError(
                    f'ssa2d.py: {field} of sample {i} {tuple(label.shape)} '
                    f'is larger than the input clip {tuple(size)}')
            if (t, h, w) != tuple(size):
                pad = [0, size[2] - w, 0, size[1] - h
                       ] + [0, 0] * (label.dim() - 3) + [0, size[0] - t]
                label = F.pad(label, pad, value=pad_value)
            out.append(label)
        return torch.stack(out)

    def loss(self, inputs: Inputs,
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """Losses of all branches.

        Returns:
            dict[str, torch.Tensor]: ``loss_actor_*``, ``loss_fg_*``,
            ``loss_action_*`` and accuracies.
        """
        size = self._clip_of(inputs).shape[2:]
        gt_actor = self._stack_labels(data_samples, 'gt_actor_seg', size,
                                      self.ignore_index).long()
        actor_logits, fg_logits, action_logits = self._forward_heads(
            inputs, gt_actor)
        losses = self.actor_head.loss_by_feat(actor_logits, fg_logits,
                                              gt_actor)
        if self.multi_label:
            gt_action = self._stack_labels(data_samples, 'gt_action_seg', size,
                                           0)
            action_losses = self.action_head.loss_by_feat(
                action_logits, gt_action, gt_actor != self.ignore_index)
        else:
            gt_action = self._stack_labels(data_samples, 'gt_action_seg', size,
                                           self.ignore_index)
            action_losses = self.action_head.loss_by_feat(
                action_logits, gt_action)
        clash = set(losses) & set(action_losses)
        if clash:
            raise ValueError(f'ssa2d.py: loss names {clash} collide')
        losses.update(action_losses)
        return losses

    def predict(
            self,
            inputs: Inputs,
            data_samples: SampleList = None) -> List[ActorActionDataSample]:
        """Label volumes at the original frame size.

        Logits are resized (trilinear) to ``(T, *ori_shape)`` (after removing
        the batch padding beyond ``img_shape``); the predicted foreground
        forces background in ``pred_actor_seg`` and ``pred_action_seg``.

        Returns:
            list[ActorActionDataSample]: The samples with ``pred_actor_seg``
            ``(T, H, W)``, ``pred_action_seg`` ``(T, H, W)`` (or multi-hot
            ``(T, A, H, W)`` uint8) and ``pred_fg_seg`` ``(T, H, W)``.
        """
        clip = self._clip_of(inputs)
        in_size = tuple(clip.shape[2:])
        if data_samples is None:
            data_samples = [
                ActorActionDataSample(metainfo=dict(ori_shape=in_size[1:]))
                for _ in range(clip.shape[0])
            ]
        if len(data_samples) != clip.shape[0]:
            raise ValueError(f'ssa2d.py: {len(data_samples)} data samples '
                             f'for {clip.shape[0]} clips')
        actor_logits, fg_logits, action_logits = self._forward_heads(inputs)
        for i, sample in enumerate(data_samples):
            self._predict_one(sample, in_size, actor_logits[i], fg_logits[i],
                              action_logits[i])
        return data_samples

    def _to_ori(self, logits: torch.Tensor, in_size: Tuple[int, int, int],
                img_shape: Tuple[int, int],
                ori_shape: Tuple[int, int]) -> torch.Tensor:
        """``(C, T', H', W')`` logits -> ``(C, T, *ori_shape)``."""
        x = logits.unsqueeze(0)
        if tuple(img_shape) != tuple(in_size[1:]):
            # The clip was padded by the batch: crop the padding first.
            x = F.interpolate(
                x, size=in_size, mode='trilinear', align_corners=False)
            x = x[..., :img_shape[0], :img_shape[1]]
        x = F.interpolate(
            x,
            size=(in_size[0], *ori_shape),
            mode='trilinear',
            align_corners=False)
        return x[0]

    def _predict_one(self, sample: ActorActionDataSample,
                     in_size: Tuple[int, int, int], actor_logits: torch.Tensor,
                     fg_logits: torch.Tensor,
                     action_logits: torch.Tensor) -> None:
        meta = sample.metainfo
        img_shape = tuple(meta.get('img_shape', in_size[1:]))[:2]
        ori_shape = tuple(meta.get('ori_shape', img_shape))[:2]

        def to_ori(x: torch.Tensor) -> torch.Tensor:
            return self._to_ori(x, in_size, img_shape, ori_shape)

        fg_prob = to_ori(fg_logits).softmax(dim=0)[1]
        fg = fg_prob > self.test_cfg['fg_threshold']
        actor_prob = to_ori(actor_logits).softmax(dim=0)
        zero = torch.zeros_like(fg, dtype=torch.long)
        if self.multi_label:
            actor = torch.where(fg, actor_prob[1:].argmax(dim=0) + 1, zero)
            # Class by class: T x A x H x W logits at full size are large.
            action = torch.stack([
                to_ori(action_logits[c:c + 1])[0].sigmoid()
                > self.test_cfg['action_threshold']
                for c in range(action_logits.shape[0])
            ],
                                 dim=1)
            action = (action & fg.unsqueeze(1)).to(torch.uint8)
        else:
            action_prob = to_ori(action_logits).softmax(dim=0)
            if self.test_cfg['joint_decoding'] == 'valid_pairs':
                actor, action = self._decode_valid_pairs(
                    actor_prob, action_prob)
            else:
                # The foreground head decides background; each branch then
                # names its most likely non-background class.
                actor = actor_prob[1:].argmax(dim=0) + 1
                action = action_prob[1:].argmax(dim=0) + 1
            actor = torch.where(fg, actor, zero)
            action = torch.where(fg, action, zero)
        sample.pred_fg_seg = fg.long()
        sample.pred_actor_seg = actor
        sample.pred_action_seg = action

    @staticmethod
    def _decode_valid_pairs(
            actor_prob: torch.Tensor,
            action_prob: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The A2D pair (actor, action) among ``VALID_JOINT_IDS`` with the
        largest ``p_actor * p_action`` at each voxel.

        Args:
            actor_prob (torch.Tensor): ``(8, T, H, W)`` probabilities.
            action_prob (torch.Tensor): ``(10, T, H, W)`` probabilities.

        Returns:
            tuple[torch.Tensor]: actor and action ids ``(T, H, W)``.
        """
        best = torch.full_like(actor_prob[0], -1.)
        actor = torch.zeros_like(actor_prob[0], dtype=torch.long)
        action = torch.zeros_like(actor)
        # One pair at a time: 43 score volumes at full size would be large.
        for joint in VALID_JOINT_IDS:
            a, b = divmod(joint, 10)
            score = actor_prob[a] * action_prob[b]
            better = score > best
            best = torch.where(better, score, best)
            actor = torch.where(better, torch.full_like(actor, a), actor)
            action = torch.where(better, torch.full_like(action, b), action)
        return actor, action


def _check_width(name: str, value: int, what: str, expected: int) -> None:
    if value != expected:
        raise ValueError(f'ssa2d.py: {name}={value} does not match {what} '
                         f'({expected}); leave it out to take it from there')
