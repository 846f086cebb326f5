from .atomic_backend import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend
from .cpu_distributed import setup_cpu_distributed
from .hooks import *  # noqa: F401,F403

__all__ = [
    'ATOMIC_LOCAL_BACKEND', 'AtomicLocalBackend', 'setup_cpu_distributed'
]
