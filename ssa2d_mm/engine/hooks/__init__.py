
from .atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from .bad_sample_hook import BadSampleHook  # noqa: F401
from .visualization_hook import ActorActionVisualizationHook  # noqa: F401
