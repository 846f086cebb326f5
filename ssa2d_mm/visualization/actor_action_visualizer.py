from typing import List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch
from mmaction.registry import VISUALIZERS
from mmengine.dist import master_only
from mmengine.visualization import Visualizer

from ssa2d_mm.datasets.a2d_labels import ACTIONS, ACTORS, COLORS
from ssa2d_mm.datasets.transforms.processing import resize_label_map
from ssa2d_mm.evaluation.functional import actor_action_to_joint

# (mask (H, W) bool, RGB colour, legend text) of one labelled region.
_Region = Tuple[np.ndarray, Tuple[int, int, int], str]


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@VISUALIZERS.register_module()
class ActorActionVisualizer(Visualizer):
    """Draw actor-action segmentations on video frames.

    Labelled pixels are blended with their colour; A2D uses the official
    joint-id colour table (:data:`ssa2d_mm.datasets.a2d_labels.COLORS`, the
    colours of ``Annotations/col`` and of the official-form predictions), so
    a drawing reads like the dataset's own annotations. Region contours and
    a legend of the actor-action labels present (drawn with mmengine's
    ``draw_texts``) are optional.

    VidOR (multi-label actions ``(A, H, W)``) is drawn per actor class, with
    ``dataset_meta['palette']`` (or a fixed random palette) and a legend
    ``actor: action, action``.

    Class names come from ``dataset_meta`` keys ``actor_classes`` and
    ``action_classes`` when set, otherwise A2D's.

    Args:
        name (str): Instance name. Defaults to ``'visualizer'``.
        image (np.ndarray, optional): Image to draw on. Defaults to None.
        vis_backends (list[dict], optional): Visual backends. Defaults to
            None.
        save_dir (str, optional): Save dir of the backends. Defaults to None.
        alpha (float): Opacity of the label colours. Defaults to 0.5.
        draw_contours (bool): Outline each region in its colour. Defaults to
            True.
        draw_legend (bool): List the labels present, top left. Defaults to
            True.
        font_size (int, optional): Legend font size in points. Defaults to
            mmengine's size for the image.
        ignore_index (int): Label of unannotated pixels (not drawn).
            Defaults to 255.
        **kwargs: Other arguments of :class:`mmengine.visualization.
            Visualizer` (``fig_save_cfg``, ``fig_show_cfg``).

    Examples:
        >>> vis = ActorActionVisualizer(draw_legend=False)
        >>> frame = np.zeros((8, 8, 3), np.uint8)
        >>> actor = np.zeros((8, 8), int); actor[2:5, 2:5] = 1
        >>> action = np.zeros((8, 8), int); action[2:5, 2:5] = 8
        >>> drawn = vis.draw_frame(frame, actor, action)  # adult-walking
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 alpha: float = 0.5,
                 draw_contours: bool = True,
                 draw_legend: bool = True,
                 font_size: Optional[int] = None,
                 ignore_index: int = 255,
                 **kwargs) -> None:
        super().__init__(name, image, vis_backends, save_dir, **kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        self.alpha = alpha
        self.draw_contours = draw_contours
        self.draw_legend = draw_legend
        self.font_size = font_size
        self.ignore_index = ignore_index

    # ------------------------------------------------------------------
    # Label spaces
    # ------------------------------------------------------------------
    def _names(self) -> Tuple[Sequence[str], Sequence[str]]:
        meta = self.dataset_meta or {}
        return (meta.get('actor_classes') or ACTORS, meta.get('action_classes')
                or ACTIONS)

    def _actor_palette(self, num: int) -> np.ndarray:
        meta = self.dataset_meta or {}
        if meta.get('palette') is not None:
            palette = np.asarray(meta['palette'], dtype=np.int64)
            if len(palette) >= num:
                return palette
        # A fixed random palette, as mmseg does for datasets without one.
        return np.random.RandomState(42).randint(0, 256, (max(num, 256), 3))

    def _a2d_regions(self, actor: np.ndarray,
                     action: np.ndarray) -> List[_Region]:
        actor_names, action_names = self._names()
        joint = actor_action_to_joint(actor, action, self.ignore_index)
        regions = []
        for jid in np.unique(joint):
            if jid in (0, self.ignore_index):
                continue
            jid = int(jid)
            text = f'{actor_names[jid // 10]}-{action_names[jid % 10]}'
            regions.append((joint == jid, COLORS[jid], text))
        return regions

    def _vidor_regions(self, actor: np.ndarray,
                       actions: np.ndarray) -> List[_Region]:
        actor_names, action_names = self._names()
        labelled = (actor != self.ignore_index) & (actor > 0)
        ids = np.unique(actor[labelled])
        palette = self._actor_palette(int(ids.max()) + 1 if ids.size else 1)
        regions = []
        for cid in ids:
            mask = actor == cid
            on = [
                action_names[a] if a < len(action_names) else str(a)
                for a in np.flatnonzero(actions[:, mask].any(1))
            ]
            name = actor_names[cid] if cid < len(actor_names) else str(cid)
            text = f'{name}: {", ".join(on) if on else "no action"}'
            regions.append((mask, tuple(int(c) for c in palette[cid]), text))
        return regions

    # ------------------------------------------------------------------
    # Drawing
    # ------------------------------------------------------------------
    def draw_frame(self, frame: np.ndarray, actor_map: np.ndarray,
                   action_map: np.ndarray) -> np.ndarray:
        """Overlay the actor-action labels of one frame.

        Each labelled pixel becomes ``(1 - alpha) * frame + alpha * colour``
        (rounded), then region contours (in the colour) and the legend are
        drawn when enabled. Pixels that are background or ``ignore_index``
        keep the frame's colour (except under the legend).

        Args:
            frame (np.ndarray): ``(H, W, 3)`` uint8 RGB.
            actor_map (np.ndarray): ``(H, W)`` actor classes.
            action_map (np.ndarray): ``(H, W)`` A2D action classes, or
                ``(A, H, W)`` VidOR multi-hot actions.

        Returns:
            np.ndarray: ``(H, W, 3)`` uint8 RGB, also set as the
            visualizer's image.

        Raises:
            ValueError: if the frame is not ``(H, W, 3)`` or the maps do not
                have its size.
        """
        frame = _to_numpy(frame)
        actor = _to_numpy(actor_map)
        action = _to_numpy(action_map)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f'frame must be (H, W, 3) RGB, got {frame.shape}')
        if actor.shape != frame.shape[:2] or action.shape[-2:] != \
                frame.shape[:2] or action.ndim not in (2, 3):
            raise ValueError(
                f'label maps must be (H, W) (actions (H, W) or (A, H, W)) '
                f'with the frame size {frame.shape[:2]}, got actor '
                f'{actor.shape}, action {action.shape}')
        regions = self._a2d_regions(actor, action) if action.ndim == 2 \
            else self._vidor_regions(actor, action)

        drawn = frame.astype(np.float64)
        for mask, color, _ in regions:
            drawn[mask] = (1 - self.alpha) * drawn[mask] + \
                self.alpha * np.asarray(color, np.float64)
        # cv2 draws only on C-contiguous arrays (frames from permuted
        # tensors are not).
        drawn = np.ascontiguousarray(
            np.clip(np.rint(drawn), 0, 255).astype(np.uint8))
        if self.draw_contours:
            for mask, color, _ in regions:
                contours, _ = cv2.findContours(
                    mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                    cv2.CHAIN_APPROX_NONE)
                cv2.drawContours(drawn, contours, -1, color, 1)
        self.set_image(drawn)
        if self.draw_legend and regions:
            self._draw_legend(regions)
            drawn = self.get_image()
        return drawn

    def _draw_legend(self, regions: List[_Region]) -> None:
        """One line per label, top left, on a box of the label's colour."""
        font_size = self.font_size or self._default_font_size
        # matplotlib sizes text in points: 1 pt = dpi / 72 pixels.
        line = font_size * self.dpi / 72 * 1.6
        texts, positions, colors, bboxes = [], [], [], []
        for i, (_, color, text) in enumerate(regions):
            texts.append(text)
            positions.append([3, 3 + i * line])
            # Dark text on light colours, light text on dark ones.
            luma = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
            colors.append('k' if luma > 128 else 'w')
            bboxes.append(
                dict(
                    facecolor=tuple(c / 255 for c in color),
                    alpha=0.8,
                    pad=1,
                    edgecolor='none'))
        self.draw_texts(
            texts,
            np.asarray(positions),
            font_sizes=font_size,
            colors=colors,
            bboxes=bboxes)

    @master_only
    def add_datasample(
            self,
            name: str,
            frames: Union[np.ndarray, torch.Tensor, Sequence[np.ndarray]],
            data_sample=None,
            draw_gt: bool = True,
            draw_pred: bool = True,
            show: bool = False,
            wait_time: float = 0.,
            out_file: Optional[str] = None,
            step: int = 0,
            frame_index: Optional[int] = None) -> Optional[np.ndarray]:
        """Draw the annotated frame of a sample: ground truth | prediction.

        The frame drawn is ``frame_index``, by default the sample's
        ``label_frame_index`` (0 without it). Label maps of another size than
        the frame (e.g. ground truth at the pipeline's size) are resized to
        it with nearest interpolation.

        Args:
            name (str): Image identifier for the backends / window.
            frames (np.ndarray | Tensor | list): One frame ``(H, W, 3)`` or
                the clip ``(T, H, W, 3)``, uint8 RGB.
            data_sample (ActorActionDataSample | dict, optional): With
                ``gt_actor_seg``/``gt_action_seg`` and/or
                ``pred_actor_seg``/``pred_action_seg`` ``(T, H, W)`` (VidOR
                actions ``(T, A, H, W)``). Defaults to None (frame only).
            draw_gt (bool): Draw the ground truth (left). Defaults to True.
            draw_pred (bool): Draw the prediction (right). Defaults to True.
            show (bool): Show in a window. Defaults to False.
            wait_time (float): Seconds to show. Defaults to 0.
            out_file (str, optional): Write the drawing (PNG) there instead
                of to the backends. Defaults to None.
            step (int): Global step for the backends. Defaults to 0.
            frame_index (int, optional): Frame of the clip to draw.

        Returns:
            np.ndarray: The drawing ``(H, W * panels, 3)`` RGB.
        """

        def get(key: str):
            return None if data_sample is None else data_sample.get(key, None)

        t = frame_index if frame_index is not None else int(
            get('label_frame_index') or 0)
        frames = [_to_numpy(f) for f in frames] if isinstance(
            frames, (list, tuple)) else _to_numpy(frames)
        # A clip (T, H, W, 3) or a list of frames: take frame t.
        is_clip = np.ndim(frames[0]) == 3
        frame = np.asarray(frames[t] if is_clip else frames).astype(np.uint8)

        panels = []
        for prefix, enabled in (('gt', draw_gt), ('pred', draw_pred)):
            actor, action = get(f'{prefix}_actor_seg'), get(
                f'{prefix}_action_seg')
            if not enabled or actor is None or action is None:
                continue
            actor = resize_label_map(_to_numpy(actor)[t], frame.shape[:2])
            action = resize_label_map(_to_numpy(action)[t], frame.shape[:2])
            panels.append(self.draw_frame(frame, actor, action))
        drawn = np.concatenate(panels, axis=1) if panels else frame
        self.set_image(drawn)

        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn
