from .hooks import *  # noqa: F401,F403
from .atomic_backend import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend  # noqa: F401,E501
