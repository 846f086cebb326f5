"""Compatibility layer: the pinned OpenMMLab releases on today's PyTorch.

OpenMMLab's video and segmentation toolboxes (mmaction2 1.2.0, mmseg 1.2.2,
mmengine 0.10.7) had their last releases in 2023-2024. Three gaps stop them on
the stack this project pins (torch 2.13, mmcv-lite 2.1.0); each piece below
closes one gap, checks first whether the gap exists, and does nothing where
it does not (full mmcv installed, a fixed mmaction2, an older torch):

* :func:`patch_mmcv_ops`: mmcv-lite ships ``mmcv/ops`` without its compiled
  extension, yet mmseg imports ``mmcv.ops`` at module level. A placeholder
  module serves the pure-PyTorch ``point_sample`` and turns every other name
  into a class that raises a clear error only when used.
* :func:`patch_mmaction_drn`: mmaction2 1.2.0's wheel lacks the
  ``mmaction.models.localizers.drn`` package that ``localizers/__init__.py``
  imports. A placeholder package with a ``DRN`` that raises when built.
* :func:`patch_checkpoint_loading`: torch>=2.6 loads with
  ``weights_only=True``; mmengine checkpoints hold message-hub buffers and
  numpy objects. mmengine's local checkpoint loader allowlists exactly those
  types while it loads, so resuming works without disabling the safe loader.

:func:`apply_all` runs them; ``ssa2d_mm/__init__.py`` calls it before any
OpenMMLab model import.
"""
import importlib.util
import os.path as osp
import sys
import types
from typing import List

import torch

#: Names of the pieces that :func:`apply_all` found necessary and applied.
APPLIED: List[str] = []


def _missing_op(name: str) -> type:
    """A stand-in for a compiled mmcv op.

    It is a class so that ``isinstance`` checks and subclassing at import time
    keep working; building or calling it raises.
    """

    def _raise(*args, **kwargs):
        raise ImportError(
            f'mmcv.ops.{name} needs full mmcv with compiled ops; this '
            'environment has mmcv-lite. Install mmcv==2.1.0 built with ops '
            '(see docs/install.md). SSA2D itself needs no compiled op.')

    return type(name, (), {'__init__': _raise, '__module__': 'mmcv.ops'})


def mmcv_has_compiled_ops() -> bool:
    """Whether the installed mmcv has its compiled extension ``mmcv._ext``."""
    return importlib.util.find_spec('mmcv._ext') is not None


def patch_mmcv_ops() -> bool:
    """Install a placeholder ``mmcv.ops`` when mmcv has no compiled ops.

    Returns:
        bool: True if the placeholder was installed, False if not needed.
    """
    if mmcv_has_compiled_ops() or isinstance(
            sys.modules.get('mmcv.ops'), _PlaceholderOps):
        return False
    import mmcv

    ops = _PlaceholderOps('mmcv.ops')
    # point_sample.py is pure PyTorch: load upstream's file rather than a copy.
    path = osp.join(osp.dirname(mmcv.__file__), 'ops', 'point_sample.py')
    spec = importlib.util.spec_from_file_location('mmcv.ops.point_sample',
                                                  path)
    point_sample = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(point_sample)
    sys.modules['mmcv.ops.point_sample'] = point_sample
    ops.point_sample = point_sample.point_sample
    ops.SimpleRoIAlign = point_sample.SimpleRoIAlign
    sys.modules['mmcv.ops'] = ops
    mmcv.ops = ops
    return True


class _PlaceholderOps(types.ModuleType):
    """``mmcv.ops`` for mmcv-lite: unknown names become raising stand-ins."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        stand_in = _missing_op(name)
        setattr(self, name, stand_in)
        return stand_in


def patch_mmaction_drn() -> bool:
    """Provide ``mmaction.models.localizers.drn`` if the wheel lacks it.

    Returns:
        bool: True if the placeholder was installed, False if not needed.
    """
    name = 'mmaction.models.localizers.drn'
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec('mmaction')
    if spec is None:
        return False
    pkg_dir = osp.join(osp.dirname(spec.origin), 'models', 'localizers')
    if osp.isfile(osp.join(pkg_dir, 'drn', 'drn.py')):
        return False

    class DRN:
        """Placeholder: mmaction2 1.2.0's wheel does not ship DRN."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'mmaction2 1.2.0 is packaged without '
                'mmaction.models.localizers.drn; DRN is unavailable.')

    pkg = types.ModuleType(name)
    pkg.__path__ = []
    mod = types.ModuleType(name + '.drn')
    mod.DRN = DRN
    pkg.drn = mod
    sys.modules[name] = pkg
    sys.modules[name + '.drn'] = mod
    return True


def _loads_weights_only_by_default() -> bool:
    import inspect
    default = inspect.signature(torch.load).parameters['weights_only'].default
    # torch>=2.6 spells the default as None and resolves it to True.
    return default is None or default is True


def checkpoint_safe_globals() -> list:
    """The non-tensor globals that mmengine 0.10.7 checkpoints reference.

    ``HistoryBuffer`` pickles its statistics methods by qualified name
    (``HistoryBuffer.min``), which pickle resolves with ``builtins.getattr``;
    the weights-only unpickler still refuses to *call* anything that is not
    allowlisted, so ``getattr`` only reads attributes of allowed objects.
    """
    import builtins

    import numpy as np
    from mmengine.logging import HistoryBuffer

    multiarray = getattr(np, '_core', None) or np.core
    dtype_classes = [type(np.dtype(t)) for t in set(np.sctypeDict.values())]
    return [
        HistoryBuffer, builtins.getattr, np.ndarray, np.dtype,
        multiarray.multiarray._reconstruct, multiarray.multiarray.scalar,
        *dtype_classes
    ]


def patch_checkpoint_loading() -> bool:
    """Let mmengine's local checkpoint loader read its own checkpoints.

    The allowlist is active only while mmengine loads a local checkpoint
    (resume, ``load_from``, ``init_cfg``); every other ``torch.load`` keeps
    torch's default allowlist.

    Returns:
        bool: True if the loader was wrapped, False if not needed.
    """
    if not hasattr(torch.serialization, 'safe_globals') or \
            not _loads_weights_only_by_default():
        return False
    from mmengine.runner.checkpoint import CheckpointLoader

    local_loader = CheckpointLoader._schemes['']
    if getattr(local_loader, '_with_safe_globals', False):
        return False

    def load_from_local(filename, map_location):
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return local_loader(filename, map_location)

    load_from_local._with_safe_globals = True
    CheckpointLoader.register_scheme('', load_from_local, force=True)
    return True


def apply_all() -> List[str]:
    """Apply every piece that this environment needs.

    Returns:
        list[str]: the names of the pieces applied in this call.
    """
    applied = []
    for patch in (patch_mmcv_ops, patch_mmaction_drn,
                  patch_checkpoint_loading):
        if patch():
            applied.append(patch.__name__)
    APPLIED.extend(applied)
    return applied
