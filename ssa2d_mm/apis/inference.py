"""Build a model from a config and segment the actors and actions of a video.

:func:`init_model` follows mmaction2's ``init_recognizer`` and mmseg's
``init_model``. :func:`inference_video` runs the model over a whole video
with sliding clips; :func:`iter_video_predictions` does the same one frame at
a time, so that long videos need memory for a few clips only
(``demo/demo_video.py`` uses it).

How frames get their prediction: SSA2D is trained on clips whose annotated
frame sits at position ``clip_len // 2`` (``SampleAnnotatedClip``), with the
video's first or last frame repeated where the clip runs past an end. Here
clips are centred every ``stride`` frames in the same way, and each frame
takes its labels from the clip in which it lies nearest to the centre
position (no averaging of logits: the model's ``predict`` returns label
maps, and the centre frames are the ones it was trained to segment).
"""
import copy
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from ssa2d_mm.datasets.transforms.loading import VideoDecode, VideoInit
from ssa2d_mm.structures import ActorActionDataSample

VideoType = Union[str, Path, np.ndarray, Sequence[np.ndarray]]

#: Fields of the model's prediction copied per frame.
PRED_FIELDS = ('pred_actor_seg', 'pred_action_seg', 'pred_fg_seg')


def _disable_pretrained(model_cfg: Config) -> None:
    """Skip the backbone's pretrained weights: the checkpoint (or nothing,
    for an untrained model) provides every weight."""
    backbone = model_cfg.get('backbone')
    if not isinstance(backbone, dict):
        return
    if backbone.get('pretrained'):
        backbone['pretrained'] = None
    init_cfg = backbone.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        backbone['init_cfg'] = None


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build an actor-action segmentor from a config, load a checkpoint.

    The checkpoint is read by mmengine's loader, which
    :mod:`ssa2d_mm.compat` lets read mmengine checkpoints under torch's
    ``weights_only`` loading (only for checkpoints you trust, as any
    pickle). The config is kept as ``model.cfg`` and the dataset metainfo as
    ``model.dataset_meta`` (from the checkpoint, else from the test dataset
    class's ``METAINFO``).

    Args:
        config (str | Path | Config): Config file path or config object.
        checkpoint (str, optional): Checkpoint path or URL. None builds an
            untrained model. Defaults to None.
        device (str | torch.device): Where to put the model.
            Defaults to ``'cpu'``.
        cfg_options (dict, optional): Options merged into the config.
            Defaults to None.

    Returns:
        nn.Module: The model in eval mode.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif not isinstance(config, Config):
        raise TypeError('config must be a filename or Config object, '
                        f'but got {type(config)}')
    else:
        # The pretrained weights are switched off below: not in the caller's.
        config = copy.deepcopy(config)
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    if 'model' not in config:
        raise KeyError(f'config {config.filename} has no `model`')
    _disable_pretrained(config.model)
    init_default_scope(config.get('default_scope', 'mmaction'))

    model = MODELS.build(config.model)
    dataset_meta = None
    if checkpoint is not None:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu')
        dataset_meta = ckpt.get('meta', {}).get('dataset_meta')
    if dataset_meta is None:
        dataset_meta = _dataset_metainfo(config)
    if dataset_meta is not None:
        model.dataset_meta = dataset_meta
    model.cfg = config
    if str(device) == 'cpu':
        # SyncBN runs only in a distributed process group.
        model = revert_sync_batchnorm(model)
    model.to(device)
    model.eval()
    return model


def _dataset_metainfo(config: Config) -> Optional[dict]:
    """``METAINFO`` of the test (else val) dataset class, if it has one."""
    for key in ('test_dataloader', 'val_dataloader'):
        dataset = (config.get(key) or {}).get('dataset') or {}
        dataset_cls = DATASETS.get(dataset.get('type', ''))
        if dataset_cls is not None and getattr(dataset_cls, 'METAINFO', None):
            return dict(dataset_cls.METAINFO)
    return None


def _test_pipeline_cfg(cfg: Config) -> List[dict]:
    if cfg.get('test_pipeline') is not None:
        return list(cfg.test_pipeline)
    try:
        return list(cfg.test_dataloader.dataset.pipeline)
    except AttributeError as err:
        raise KeyError(
            f'config {cfg.filename} has neither `test_pipeline` nor '
            '`test_dataloader.dataset.pipeline`') from err


def _is_loading_step(type_name: str) -> bool:
    """Steps that read files (videos, frames, annotations) or sample clips:
    inference decodes and samples the video itself."""
    name = type_name.split('.')[-1]
    return name.startswith(('Load', 'Sample')) or name.endswith(
        ('Init', 'Decode'))


def build_clip_pipeline(cfg: Config) -> Tuple[Compose, int, int]:
    """The test pipeline without its loading steps, and its clip sampling.

    Args:
        cfg (Config): The model's config.

    Returns:
        tuple: ``(pipeline, clip_len, frame_interval)``; the pipeline maps a
        results dict with decoded ``imgs`` to the model's inputs (resize,
        crops, packing), ``clip_len`` and ``frame_interval`` come from the
        test pipeline's sampling step (None if it has none).

    Raises:
        ValueError: if the test pipeline loads optical flow (this API
            decodes RGB only).
    """
    clip_len, frame_interval, steps = None, 1, []
    for step in _test_pipeline_cfg(cfg):
        type_name = str(step.get('type', ''))
        if 'flow' in type_name.lower():
            raise ValueError(
                f'config {cfg.filename}: the test pipeline loads optical '
                f'flow ({type_name}); inference_video decodes RGB only')
        if _is_loading_step(type_name):
            clip_len = step.get('clip_len', clip_len)
            frame_interval = step.get('frame_interval', frame_interval)
            continue
        steps.append(step)
    return Compose(steps), clip_len, int(frame_interval)


def plan_clips(num_frames: int,
               clip_len: int,
               stride: int,
               frame_interval: int = 1
               ) -> Tuple[List[np.ndarray], np.ndarray, np.ndarray]:
    """Centre clips every ``stride`` frames and give each frame an owner.

    Clips are centred on frames ``k * stride + r`` (``r`` over the
    ``frame_interval`` phases, so that every frame is sampled by some clip)
    and on the last ``frame_interval`` frames. A clip samples frames
    ``centre + (j - clip_len // 2) * frame_interval`` for ``j < clip_len``,
    clamped to the video as ``SampleAnnotatedClip`` does.
    A frame is owned by the clip that samples it (not as a repeated edge
    frame) nearest to position ``clip_len // 2``; ties go to the earlier
    clip. Clips that own no frame are dropped.

    Args:
        num_frames (int): Frames in the video.
        clip_len (int): Frames per clip.
        stride (int): Frames between the centres of consecutive clips.
        frame_interval (int): Temporal stride inside a clip. Defaults to 1.

    Returns:
        tuple: ``(clips, owner, position)``: ``clips`` a list of int64 frame
        index arrays ``(clip_len, )``, ordered by centre (their smallest
        indices never decrease); ``owner[i]`` the clip of frame ``i`` and
        ``position[i]`` its index in that clip (both int64
        ``(num_frames, )``).

    Raises:
        ValueError: on non-positive arguments, or when ``stride`` leaves
            frames outside every clip.
    """
    if num_frames < 1 or clip_len < 1 or stride < 1 or frame_interval < 1:
        raise ValueError(
            'num_frames, clip_len, stride and frame_interval must be >= 1, '
            f'got {num_frames}, {clip_len}, {stride}, {frame_interval}')
    half = clip_len // 2
    offsets = (np.arange(clip_len) - half) * frame_interval
    # Every stride-th frame (in each of the frame_interval phases), and the
    # last frames, so that the video's end is not left at clip edges.
    centres = sorted({
        k * stride + r
        for k in range(0, (num_frames - 1) // stride + 1)
        for r in range(frame_interval) if k * stride + r < num_frames
    } | {
        num_frames - 1 - r
        for r in range(frame_interval) if num_frames - 1 - r >= 0
    })
    best = np.full(num_frames, np.iinfo(np.int64).max, dtype=np.int64)
    owner = np.full(num_frames, -1, dtype=np.int64)
    position = np.zeros(num_frames, dtype=np.int64)
    raw_clips = []
    for k, centre in enumerate(centres):
        raw = centre + offsets
        raw_clips.append(np.clip(raw, 0, num_frames - 1))
        inside = (raw >= 0) & (raw < num_frames)
        for j in np.flatnonzero(inside):
            frame, dist = raw[j], abs(int(j) - half)
            if dist < best[frame]:
                best[frame], owner[frame], position[frame] = dist, k, j
    if (owner < 0).any():
        raise ValueError(
            f'stride {stride} leaves frames {np.flatnonzero(owner < 0)[:5]} '
            f'outside every clip of {clip_len} frames (interval '
            f'{frame_interval}); use a smaller stride')
    used = np.unique(owner)
    remap = np.full(len(centres), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return [raw_clips[k] for k in used], remap[owner], position


class _FrameSource:
    """Frames of a video file or of an in-memory array, by index.

    Files are decoded with the dataset's ``VideoInit``/``VideoDecode``
    (decord, PyAV, OpenCV in turn; RGB) a clip at a time, keeping only the
    frames that later clips still need.
    """

    def __init__(self, video: VideoType) -> None:
        self._cache: Dict[int, np.ndarray] = {}
        if isinstance(video, (str, Path)):
            self.filename: Optional[str] = str(video)
            self._array = None
            self._init, self._decode = VideoInit(), VideoDecode()
            opened = self._init(dict(filename=self.filename))
            self.num_frames = int(opened['total_frames'])
            opened['frame_inds'] = np.zeros(1, dtype=np.int64)
            first = self._decode(opened)['imgs'][0]
            self._cache[0] = first
            self.shape = first.shape[:2]
        else:
            self.filename = None
            frames = video if isinstance(video, np.ndarray) else np.stack(
                list(video))
            if frames.ndim != 4 or frames.shape[-1] != 3 or \
                    frames.dtype != np.uint8 or len(frames) == 0:
                raise ValueError(
                    'video must be a file path or uint8 RGB frames '
                    f'(N, H, W, 3), got {frames.dtype} {frames.shape}')
            self._array = frames
            self.num_frames = len(frames)
            self.shape = frames.shape[1:3]

    def get(self, inds: np.ndarray) -> List[np.ndarray]:
        """Frames ``inds`` (repeats allowed) as ``(H, W, 3)`` RGB arrays."""
        if self._array is not None:
            return [self._array[i] for i in inds]
        missing = sorted({int(i) for i in inds} - set(self._cache))
        if missing:
            opened = self._init(dict(filename=self.filename))
            opened['frame_inds'] = np.asarray(missing, dtype=np.int64)
            for i, img in zip(missing, self._decode(opened)['imgs']):
                self._cache[i] = img
        return [self._cache[int(i)] for i in inds]

    def release_before(self, index: int) -> None:
        """Forget the decoded frames before ``index``."""
        for i in [i for i in self._cache if i < index]:
            del self._cache[i]


def _resolve_sampling(model: nn.Module, clip_len: Optional[int],
                      stride: Optional[int]) -> Tuple[Compose, int, int, int]:
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise AttributeError(
            'model has no `cfg`: build it with ssa2d_mm.apis.init_model')
    pipeline, cfg_clip_len, frame_interval = build_clip_pipeline(cfg)
    clip_len = clip_len or cfg_clip_len
    if clip_len is None:
        raise ValueError(
            f'config {cfg.filename}: the test pipeline has no sampling step '
            'with `clip_len`; pass clip_len')
    stride = stride or max(1, (clip_len // 2) * frame_interval)
    return pipeline, int(clip_len), int(stride), frame_interval


def iter_video_predictions(
        model: nn.Module,
        video: VideoType,
        clip_len: Optional[int] = None,
        stride: Optional[int] = None
) -> Iterator[Tuple[int, np.ndarray, dict]]:
    """Segment a video clip by clip, yielding one frame at a time.

    Args:
        model (nn.Module): A model from :func:`init_model`.
        video (str | Path | np.ndarray | Sequence[np.ndarray]): A video
            file, or its frames as uint8 RGB ``(N, H, W, 3)``.
        clip_len (int, optional): Frames per clip. Defaults to the test
            pipeline's ``clip_len``.
        stride (int, optional): Frames between clip centres. Defaults to
            ``clip_len // 2`` (times the pipeline's ``frame_interval``).

    Yields:
        tuple: ``(index, frame, preds)``: the 0-based frame index, the frame
        ``(H, W, 3)`` uint8 RGB, and a dict of that frame's predictions at
        the video's size, CPU tensors: ``pred_actor_seg`` ``(H, W)``,
        ``pred_action_seg`` ``(H, W)`` (or ``(A, H, W)`` multi-hot for
        multi-label actions) and, if the model predicts it, ``pred_fg_seg``
        ``(H, W)``.
    """
    sampling = _resolve_sampling(model, clip_len, stride)
    yield from _iter_predictions(model, _FrameSource(video), *sampling)


def _iter_predictions(
        model: nn.Module, source: _FrameSource, pipeline: Compose,
        clip_len: int, stride: int,
        frame_interval: int) -> Iterator[Tuple[int, np.ndarray, dict]]:
    clips, owner, position = plan_clips(source.num_frames, clip_len, stride,
                                        frame_interval)
    video_id = Path(source.filename).stem if source.filename else 'array'
    centre = clip_len // 2
    owned = [np.flatnonzero(owner == k) for k in range(len(clips))]
    # With frame_interval > 1 a later clip can own an earlier frame than its
    # predecessor does: finished frames wait here until they are next.
    pending: Dict[int, Tuple[np.ndarray, dict]] = {}
    next_frame = 0
    for k, inds in enumerate(clips):
        imgs = source.get(inds)
        data = pipeline(
            dict(
                imgs=imgs,
                frame_inds=inds,
                clip_len=clip_len,
                frame_interval=frame_interval,
                num_clips=1,
                label_frame_index=centre,
                total_frames=source.num_frames,
                filename=source.filename or '',
                video_id=video_id,
                frame_id=int(inds[centre]) + 1,
                ori_shape=tuple(source.shape),
                img_shape=tuple(source.shape),
                original_shape=tuple(source.shape)))
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([data]))[0]
        fields = [f for f in PRED_FIELDS if hasattr(sample, f)]
        if not {'pred_actor_seg', 'pred_action_seg'} <= set(fields):
            raise KeyError('the model must predict pred_actor_seg and '
                           f'pred_action_seg, got {sample.keys()}')
        for i in owned[k]:
            j = int(position[i])
            pending[int(i)] = (imgs[j], {
                f: getattr(sample, f)[j].cpu()
                for f in fields
            })
        while next_frame in pending:
            frame, preds = pending.pop(next_frame)
            yield next_frame, frame, preds
            next_frame += 1
        if k + 1 < len(clips):
            source.release_before(int(clips[k + 1].min()))
    if next_frame != source.num_frames:
        raise RuntimeError(f'{next_frame} of {source.num_frames} frames '
                           'were segmented')


def inference_video(model: nn.Module,
                    video: VideoType,
                    clip_len: Optional[int] = None,
                    stride: Optional[int] = None) -> ActorActionDataSample:
    """Segment the actors and actions of every frame of a video.

    The video is decoded, cut into clips centred every ``stride`` frames
    (``clip_len`` frames each, sampled as the test pipeline samples them),
    each clip goes through the test pipeline's resize/packing and the
    model's data preprocessor (normalisation), and every frame takes the
    labels of the clip in which it is nearest to the centre (see the module
    docstring). For long videos, :func:`iter_video_predictions` keeps only a
    few clips in memory.

    Args:
        model (nn.Module): A model from :func:`init_model`.
        video (str | Path | np.ndarray | Sequence[np.ndarray]): A video
            file, or its frames as uint8 RGB ``(N, H, W, 3)``.
        clip_len (int, optional): Frames per clip. Defaults to the test
            pipeline's ``clip_len``.
        stride (int, optional): Frames between clip centres. Defaults to
            ``clip_len // 2`` (times the pipeline's ``frame_interval``).

    Returns:
        ActorActionDataSample: ``pred_actor_seg`` ``(N, H, W)``,
        ``pred_action_seg`` ``(N, H, W)`` (or ``(N, A, H, W)`` multi-hot)
        and ``pred_fg_seg`` ``(N, H, W)`` (if the model predicts it) at the
        video's size ``(H, W)``; metainfo ``ori_shape``, ``img_shape``,
        ``num_frames``, ``clip_len``, ``stride``, ``frame_interval`` and
        ``filename`` (None for frames given as an array).
    """
    sampling = _resolve_sampling(model, clip_len, stride)
    source = _FrameSource(video)
    preds: Dict[str, List[torch.Tensor]] = {}
    for _, _, frame_preds in _iter_predictions(model, source, *sampling):
        for f, value in frame_preds.items():
            preds.setdefault(f, []).append(value)
    _, clip_len, stride, frame_interval = sampling
    result = ActorActionDataSample(
        metainfo=dict(
            ori_shape=tuple(source.shape),
            img_shape=tuple(source.shape),
            num_frames=source.num_frames,
            clip_len=clip_len,
            stride=stride,
            frame_interval=frame_interval,
            filename=source.filename))
    for f, values in preds.items():
        setattr(result, f, torch.stack(values))
    return result
