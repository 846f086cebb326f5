"""Synthetic clips in the data loader's format, for timing only.

The benchmarks feed the models exactly what the data pipeline packs
(``PackActorActionInputs``): per clip a uint8 ``(3, T, H, W)`` tensor of
pixel values and an :class:`ActorActionDataSample` with the dataset's
metainfo (and, for training, A2D-style labels: one annotated frame, 255 on
the others). Values are random: speed does not depend on them.
"""
from typing import Dict, List, Sequence

import torch

from ..structures import ActorActionDataSample

IGNORE_INDEX = 255


def make_clip_batch(batch: int,
                    shape: Sequence[int],
                    with_labels: bool = False,
                    num_actor_classes: int = 8,
                    num_action_classes: int = 10,
                    seed: int = 0) -> Dict[str, List]:
    """A batch of random clips with data samples, as a data loader yields it.

    Args:
        batch (int): clips in the batch.
        shape (Sequence[int]): ``(T, H, W)`` of every clip.
        with_labels (bool): add ``gt_actor_seg`` / ``gt_action_seg``
            ``(T, H, W)`` int64 (the middle frame labelled, 255 elsewhere),
            for ``mode='loss'``. Defaults to False.
        num_actor_classes (int): actor classes, background included.
            Defaults to 8 (A2D).
        num_action_classes (int): action classes, background included.
            Defaults to 10 (A2D).
        seed (int): random seed. Defaults to 0.

    Returns:
        dict: ``inputs`` (list of uint8 ``(3, T, H, W)``) and
        ``data_samples`` (list of :class:`ActorActionDataSample`).
    """
    if batch < 1 or len(shape) != 3 or min(shape) < 1:
        raise ValueError('ssa2d_mm/benchmarks/inputs.py: need batch >= 1 and '
                         f'a positive (T, H, W), got batch={batch}, '
                         f'shape={tuple(shape)}')
    t, h, w = (int(s) for s in shape)
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(batch):
        inputs.append(
            torch.randint(0, 256, (3, t, h, w), dtype=torch.uint8,
                          generator=gen))
        key = t // 2
        sample = ActorActionDataSample(
            metainfo=dict(
                video_id=f'bench{i:05d}',
                frame_id=key + 1,
                frame_inds=list(range(t)),
                label_frame_index=key,
                ori_shape=(h, w),
                img_shape=(h, w),
                flip=False))
        if with_labels:
            actor = torch.full((t, h, w), IGNORE_INDEX, dtype=torch.long)
            action = torch.full((t, h, w), IGNORE_INDEX, dtype=torch.long)
            actor[key] = torch.randint(
                0, num_actor_classes, (h, w), generator=gen)
            action[key] = torch.where(
                actor[key] > 0,
                torch.randint(1, num_action_classes, (h, w), generator=gen),
                torch.zeros_like(actor[key]))
            sample.gt_actor_seg = actor
            sample.gt_action_seg = action
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)
