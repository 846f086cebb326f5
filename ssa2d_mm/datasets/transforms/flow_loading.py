"""Load the stored optical flow of a clip beside its RGB frames."""
import os.path as osp
from typing import Dict, Optional

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ..flow import load_flow_frames


@TRANSFORMS.register_module()
class LoadFlowClip(BaseTransform):
    """Read the flow frames of ``frame_inds`` as ``flow_imgs``.

    mmaction's ``RawFrameDecode`` (modality ``'Flow'``) writes flow into
    ``imgs``, which holds the RGB frames here, and does not dequantise; this
    transform keeps both modalities. Storage and frame convention:
    :mod:`ssa2d_mm.datasets.flow` (flow file ``min(i, N - 2) + 1`` for frame
    ``i``, bound read from the folder's ``flow_done.json``). Place it right
    after video decoding, before any geometric transform.

    Required keys: ``frame_inds``, and ``flow_dir`` (set by datasets with a
    ``flow`` data prefix) or ``video_id`` with ``flow_root`` given here.
    Added keys: ``flow_imgs`` (list of ``T`` float32 ``(H, W, 2)`` arrays,
    flow in pixels).

    Args:
        flow_root (str, optional): Flow root; the video's folder is
            ``<flow_root>/<video_id>`` when the results have no ``flow_dir``
            (A2D's layout). Defaults to None.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
    """

    def __init__(self,
                 flow_root: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        self.flow_root = flow_root
        self.backend_args = backend_args

    def transform(self, results: Dict) -> Dict:
        """Load the flow.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``flow_imgs``.
        """
        flow_dir = results.get('flow_dir')
        if flow_dir is None:
            if self.flow_root is None or 'video_id' not in results:
                raise KeyError(
                    'LoadFlowClip needs flow_dir in the results (a dataset '
                    "with data_prefix['flow']) or flow_root and video_id.")
            flow_dir = osp.join(self.flow_root, str(results['video_id']))
        frame_inds = np.asarray(results['frame_inds']).reshape(-1)
        flows = load_flow_frames(flow_dir, frame_inds, self.backend_args)
        if results.get('imgs'):
            shape = tuple(results['imgs'][0].shape[:2])
            if tuple(flows[0].shape[:2]) != shape:
                raise ValueError(
                    f'{flow_dir}: flow frames are {flows[0].shape[:2]} but '
                    f'the decoded frames are {shape}; extract flow from the '
                    'same videos and load it before geometric transforms.')
        results['flow_imgs'] = flows
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(flow_root={self.flow_root!r})'
