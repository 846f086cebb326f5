import torch
from mmengine.structures import BaseDataElement


class ActorActionDataSample(BaseDataElement):
    """Data sample of one clip for actor-action segmentation.

    Neither mmseg's ``SegDataSample`` (one ``(H, W)`` map) nor mmaction's
    ``ActionDataSample`` (clip-level labels) holds a label volume, and
    ``PixelData`` rejects 4-D multi-hot maps, so the label and prediction
    volumes are stored as plain tensors with the shapes below.

    Data fields (``T`` frames, ``H x W`` pixels; ``ignore_index`` = 255 marks
    voxels without annotation, e.g. A2D's unannotated frames):

    - ``gt_actor_seg`` (LongTensor ``(T, H, W)``): actor class per voxel,
      0 = background.
    - ``gt_action_seg``: single-label (A2D) LongTensor ``(T, H, W)``, action
      class per voxel, 0 = background; multi-label (VidOR) uint8 multi-hot
      ``(T, A, H, W)`` over the ``A`` action classes (no background channel).
    - ``pred_actor_seg`` / ``pred_action_seg``: the predictions, same layouts,
      at the original frame size ``ori_shape``.
    - ``pred_fg_seg`` (LongTensor ``(T, H, W)``): predicted foreground, 0/1.

    Metainfo keys set by the datasets: ``video_id``, ``frame_id`` (1-based
    id of the annotated frame the clip is built around), ``frame_inds``
    (0-based decoded indices), ``label_frame_index`` (position of the
    annotated frame inside the clip), ``ori_shape`` and ``img_shape``
    (``(H, W)``), ``flip``.
    """

    @property
    def gt_actor_seg(self) -> torch.Tensor:
        """Actor labels ``(T, H, W)``."""
        return self._gt_actor_seg

    @gt_actor_seg.setter
    def gt_actor_seg(self, value: torch.Tensor) -> None:
        self.set_field(value, '_gt_actor_seg', dtype=torch.Tensor)

    @gt_actor_seg.deleter
    def gt_actor_seg(self) -> None:
        del self._gt_actor_seg

    @property
    def gt_action_seg(self) -> torch.Tensor:
        """Action labels ``(T, H, W)`` or multi-hot ``(T, A, H, W)``."""
        return self._gt_action_seg

    @gt_action_seg.setter
    def gt_action_seg(self, value: torch.Tensor) -> None:
        self.set_field(value, '_gt_action_seg', dtype=torch.Tensor)

    @gt_action_seg.deleter
    def gt_action_seg(self) -> None:
        del self._gt_action_seg

    @property
    def pred_actor_seg(self) -> torch.Tensor:
        """Predicted actors ``(T, H, W)``."""
        return self._pred_actor_seg

    @pred_actor_seg.setter
    def pred_actor_seg(self, value: torch.Tensor) -> None:
        self.set_field(value, '_pred_actor_seg', dtype=torch.Tensor)

    @pred_actor_seg.deleter
    def pred_actor_seg(self) -> None:
        del self._pred_actor_seg

    @property
    def pred_action_seg(self) -> torch.Tensor:
        """Predicted actions ``(T, H, W)`` or ``(T, A, H, W)``."""
        return self._pred_action_seg

    @pred_action_seg.setter
    def pred_action_seg(self, value: torch.Tensor) -> None:
        self.set_field(value, '_pred_action_seg', dtype=torch.Tensor)

    @pred_action_seg.deleter
    def pred_action_seg(self) -> None:
        del self._pred_action_seg

    @property
    def pred_fg_seg(self) -> torch.Tensor:
        """Predicted foreground ``(T, H, W)``."""
        return self._pred_fg_seg

    @pred_fg_seg.setter
    def pred_fg_seg(self, value: torch.Tensor) -> None:
        self.set_field(value, '_pred_fg_seg', dtype=torch.Tensor)

    @pred_fg_seg.deleter
    def pred_fg_seg(self) -> None:
        del self._pred_fg_seg
