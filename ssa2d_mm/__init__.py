"""ssa2d_mm: single-shot actor-action segmentation (SSA2D) on OpenMMLab.

Importing the package applies the compatibility layer first (see
:mod:`ssa2d_mm.compat`), then registers every SSA2D component into
mmaction2's registries (the plugin's default scope is ``mmaction``).
"""
from . import compat

compat.apply_all()

# Register mmaction2's and mmseg's own modules, so that configs reach them as
# ``mmaction.X`` / ``mmseg.X`` whatever the entry point.
import mmaction.datasets  # noqa: E402,F401
import mmaction.evaluation  # noqa: E402,F401
import mmaction.models  # noqa: E402,F401
import mmseg.models  # noqa: E402,F401

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from . import structures, visualization  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
