import pytest
from mmengine.registry import init_default_scope

import ssa2d_mm  # noqa: F401  (applies the compat layer, registers modules)


@pytest.fixture(autouse=True)
def _mmaction_scope():
    """Every test builds from mmaction's registries, as the configs do."""
    init_default_scope('mmaction')
