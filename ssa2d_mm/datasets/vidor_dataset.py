"""VidOR as an actor-action segmentation dataset: one clip per relation."""
import glob
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmengine.config import ConfigDict

from .vidor_labels import (VIDOR_ACTORS, VidORAnnotationError,
                           load_vidor_annotation, vidor_predicates)


def centred_clip(centre: int, clip_len: int, frame_interval: int,
                 num_frames: int):
    """Frame indices of a clip centred on one frame.

    Args:
        centre (int): 0-based frame at clip position ``clip_len // 2``.
        clip_len (int): Frames in the clip.
        frame_interval (int): Step between sampled frames.
        num_frames (int): Frames in the video.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``frame_inds`` (int64 ``(clip_len,)``,
        clamped into the video so that they can be decoded) and
        ``frame_valid`` (bool, False where the unclamped index lay outside
        the video).
    """
    offsets = (np.arange(clip_len) - clip_len // 2) * frame_interval
    raw = centre + offsets
    valid = (raw >= 0) & (raw < num_frames)
    return np.clip(raw, 0, num_frames - 1).astype(np.int64), valid


@DATASETS.register_module()
class VidORDataset(BaseActionDataset):
    """VidOR (Shang et al. 2019) for single-shot actor-action segmentation.

    Layout (``../shared/docs/DATASETS.md``)::

        <data_root>/annotation/{training,validation}/<XXXX>/<video_id>.json
        <data_root>/video/<XXXX>/<video_id>.mp4

    Each relation instance gives one sample: a clip of ``clip_len`` frames,
    ``frame_interval`` apart, centred on the middle frame of the relation's
    ``[begin_fid, end_fid)``. Clip indices that fall outside the video are
    clamped for decoding and flagged in ``frame_valid`` (their labels become
    255). Labels are drawn from the boxes on every frame of the clip by
    :class:`LoadVidORAnnotation`.

    Data info keys: ``filename`` (the mp4), ``ann_file`` (the JSON),
    ``video_id``, ``frame_id`` (1-based centre frame, the clip's evaluated
    frame), ``frame_inds``, ``frame_valid``, ``label_frame_index``
    (``clip_len // 2``), ``total_frames`` (from the JSON),
    ``action_predicates_only`` (read by ``LoadVidORAnnotation``), the relation
    (``relation_index``, ``subject_tid``, ``object_tid``, ``predicate``,
    ``begin_fid``, ``end_fid``) and, with a ``flow`` prefix, ``flow_dir``
    (``<flow>/<XXXX>/<video_id>``, the layout of ``tools/data/extract_flow.py``
    run on ``video/*/*.mp4``).

    Args:
        ann_file (str): The split's annotation folder, e.g.
            ``'annotation/training'`` (joined to ``data_root``).
        pipeline (list[dict | callable]): Data transforms.
        data_prefix (dict): ``video`` (folder the JSON ``video_path`` is
            relative to) and optionally ``flow`` (folder of extracted flow),
            relative to ``data_root``. ``video`` defaults to ``'video'``.
        clip_len (int): Frames per clip. Defaults to 16.
        frame_interval (int): Temporal stride. Defaults to 1.
        action_predicates_only (bool): Use the 42 action predicates as action
            classes and make samples only of action relations; else all 50
            predicates. Defaults to False.
        test_mode (bool): Defaults to False.
        **kwargs: Passed to :class:`mmaction.datasets.BaseActionDataset`
            (``data_root``, ``indices``, ``serialize_data``, ...).
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: Sequence[Union[dict, ConfigDict, Callable]],
                 data_prefix: Optional[dict] = None,
                 clip_len: int = 16,
                 frame_interval: int = 1,
                 action_predicates_only: bool = False,
                 test_mode: bool = False,
                 **kwargs) -> None:
        if clip_len < 1 or frame_interval < 1:
            raise ValueError('clip_len and frame_interval must be >= 1, got '
                             f'{clip_len} and {frame_interval}')
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.action_predicates_only = action_predicates_only
        predicates = vidor_predicates(action_predicates_only)
        metainfo = dict(
            actor_classes=VIDOR_ACTORS,
            action_classes=predicates,
            multi_label_action=True,
            ignore_index=255)
        metainfo.update(kwargs.pop('metainfo', None) or {})
        prefix = dict(video='video')
        prefix.update(data_prefix or {})
        super().__init__(
            ann_file,
            pipeline=pipeline,
            data_prefix=prefix,
            test_mode=test_mode,
            metainfo=metainfo,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """One entry per relation instance of every video of the split."""
        if not osp.isdir(self.ann_file):
            raise FileNotFoundError(
                f'VidORDataset: annotation folder {self.ann_file} does not '
                'exist (expected annotation/<split>/<XXXX>/<id>.json).')
        files = sorted(glob.glob(osp.join(self.ann_file, '*', '*.json')))
        if not files:
            raise FileNotFoundError(
                f'VidORDataset: no <XXXX>/<id>.json under {self.ann_file}.')
        keep = set(vidor_predicates(self.action_predicates_only))
        video_prefix = self.data_prefix.get('video', '')
        flow_prefix = self.data_prefix.get('flow')
        data_list = []
        for path in files:
            # boxes are checked when a clip is rasterised
            anno = load_vidor_annotation(path, check_trajectories=False)
            num_frames = anno['frame_count']
            video_path = anno['video_path']
            common = dict(
                filename=osp.join(video_prefix, video_path),
                ann_file=path,
                video_id=str(anno['video_id']),
                total_frames=num_frames,
                label_frame_index=self.clip_len // 2,
                action_predicates_only=self.action_predicates_only)
            if flow_prefix:
                common['flow_dir'] = osp.join(flow_prefix,
                                              osp.splitext(video_path)[0])
            for i, rel in enumerate(anno['relation_instances']):
                if rel['predicate'] not in keep:
                    continue
                begin, end = rel['begin_fid'], rel['end_fid']
                if begin >= num_frames:
                    raise VidORAnnotationError(
                        path, f'relation_instances[{i}].begin_fid {begin} '
                        f'is past frame_count {num_frames}')
                centre = (begin + min(end, num_frames) - 1) // 2
                frame_inds, frame_valid = centred_clip(centre, self.clip_len,
                                                       self.frame_interval,
                                                       num_frames)
                data_list.append(
                    dict(
                        common,
                        frame_id=centre + 1,
                        frame_inds=frame_inds,
                        frame_valid=frame_valid,
                        relation_index=i,
                        subject_tid=rel['subject_tid'],
                        object_tid=rel['object_tid'],
                        predicate=rel['predicate'],
                        begin_fid=begin,
                        end_fid=end))
        return data_list
