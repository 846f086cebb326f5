import os.path as osp
from collections.abc import Mapping
from typing import Optional, Sequence

import mmcv
import numpy as np
import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

from ssa2d_mm.visualization import ActorActionVisualizer


@HOOKS.register_module()
class ActorActionVisualizationHook(Hook):
    """Draw the annotated frame of validation / test samples.

    For every ``interval``-th sample, the hook takes the frame
    ``label_frame_index`` of the clip the model saw (``data_batch['inputs']``
    before the data preprocessor: uint8 ``(C, T, H, W)`` RGB, at the
    pipeline's size), resizes it to ``ori_shape`` (bilinear) and has the
    current :class:`ActorActionVisualizer` draw the ground truth and the
    prediction side by side. mmseg's ``SegVisualizationHook`` re-reads
    ``img_path`` instead; A2D samples are decoded video frames, hence the
    batch inputs. Test pipelines are assumed not to crop or flip (a crop
    cannot be mapped back to the original frame).

    Output: with ``out_dir``, one PNG per drawn sample,
    ``out_dir/<video_id>/<frame_id:05d>.png``; otherwise the visualizer's
    backends receive ``<mode>_<video_id>_<frame_id:05d>`` (e.g.
    ``LocalVisBackend`` under ``<save_dir>/vis_data/vis_image``).

    Args:
        draw (bool): Whether to draw at all. Defaults to False
            (``tools/test.py --show-dir`` turns it on).
        interval (int): Draw every ``interval``-th sample. Defaults to 50.
        show (bool): Show each drawing in a window. Defaults to False.
        wait_time (float): Seconds each window stays. Defaults to 0.
        out_dir (str, optional): Folder for the PNGs. Defaults to None.
        draw_gt (bool): Draw the ground truth panel. Defaults to True.
        draw_pred (bool): Draw the prediction panel. Defaults to True.
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 show: bool = False,
                 wait_time: float = 0.,
                 out_dir: Optional[str] = None,
                 draw_gt: bool = True,
                 draw_pred: bool = True) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self._visualizer: Visualizer = Visualizer.get_current_instance()
        self.draw = draw
        self.interval = interval
        self.show = show
        self.wait_time = wait_time
        self.out_dir = out_dir
        self.draw_gt = draw_gt
        self.draw_pred = draw_pred

    @staticmethod
    def _frame(video, sample) -> np.ndarray:
        """The annotated frame ``(H_ori, W_ori, 3)`` uint8 RGB of a clip."""
        if isinstance(video, Mapping):  # multi-modal inputs: RGB + flow
            video = video['imgs']
        if not isinstance(video, torch.Tensor):
            video = torch.as_tensor(np.asarray(video))
        if video.ndim == 5:  # (num_clips, C, T, H, W): the first clip
            video = video[0]
        if video.ndim != 4 or video.shape[0] != 3:
            raise ValueError('expected RGB clip inputs (C=3, T, H, W), got '
                             f'{tuple(video.shape)}')
        t = int(sample.get('label_frame_index', 0) or 0)
        frame = video[:, t].permute(1, 2, 0).detach().cpu().numpy()
        frame = np.ascontiguousarray(np.clip(frame, 0, 255).astype(np.uint8))
        ori_shape = sample.get('ori_shape', None)
        if ori_shape is not None and tuple(frame.shape[:2]) != tuple(
                ori_shape[:2]):
            h, w = (int(s) for s in ori_shape[:2])
            frame = mmcv.imresize(frame, (w, h), interpolation='bilinear')
        return frame

    def _draw_samples(self, runner: Runner, batch_idx: int, data_batch: dict,
                      outputs: Sequence, mode: str, step: int) -> None:
        if not self.draw:
            return
        if not isinstance(self._visualizer, ActorActionVisualizer):
            raise TypeError(
                'ActorActionVisualizationHook needs the runner\'s visualizer '
                "to be an ActorActionVisualizer (visualizer=dict(type="
                f"'ActorActionVisualizer', ...)), got "
                f'{type(self._visualizer).__name__}')
        inputs = data_batch['inputs']
        if isinstance(inputs, Mapping):  # collated multi-modal inputs
            inputs = inputs['imgs']
        start = batch_idx * len(outputs)
        for i, sample in enumerate(outputs):
            if (start + i) % self.interval:
                continue
            video_id = str(sample.get('video_id', start + i))
            frame_id = int(sample.get('frame_id', 0) or 0)
            frame = self._frame(inputs[i], sample)
            out_file = None
            if self.out_dir is not None:
                out_file = osp.join(self.out_dir, video_id,
                                    f'{frame_id:05d}.png')
            self._visualizer.add_datasample(
                f'{mode}_{video_id}_{frame_id:05d}',
                frame,
                data_sample=sample,
                draw_gt=self.draw_gt,
                draw_pred=self.draw_pred,
                show=self.show,
                wait_time=self.wait_time,
                out_file=out_file,
                step=step)

    def after_val_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence) -> None:
        """Draw every ``interval``-th sample during validation.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the val loop.
            data_batch (dict): The batch from the dataloader.
            outputs (Sequence[ActorActionDataSample]): Model outputs.
        """
        self._draw_samples(runner, batch_idx, data_batch, outputs, 'val',
                           runner.iter)

    def after_test_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence) -> None:
        """Draw every ``interval``-th sample during test.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the test loop.
            data_batch (dict): The batch from the dataloader.
            outputs (Sequence[ActorActionDataSample]): Model outputs.
        """
        self._draw_samples(runner, batch_idx, data_batch, outputs, 'test', 0)
