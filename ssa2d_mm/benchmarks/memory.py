"""Peak memory of a block of work: process RSS on CPU, allocator on CUDA.

CPU tensors come from the C allocator, not from a caching allocator that
PyTorch could query, so the CPU figure is the growth of the process's
resident set size (RSS) over the block: Linux's own peak counter (VmHWM,
reset through ``/proc/self/clear_refs``) where the kernel allows it, else a
sampling thread. ``tracemalloc`` would miss tensor storage entirely.
"""
import ctypes
import ctypes.util
import resource
import sys
import threading
from typing import Callable, Dict, Optional, Union

import torch

_STATUS = '/proc/self/status'
_CLEAR_REFS = '/proc/self/clear_refs'


def _status_kib(key: str) -> Optional[int]:
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss_bytes() -> int:
    """Resident set size of this process now, in bytes."""
    kib = _status_kib('VmRSS')
    if kib is not None:
        return kib * 1024
    try:
        import psutil
        return psutil.Process().memory_info().rss
    except ImportError as e:
        raise RuntimeError(
            'ssa2d_mm/benchmarks/memory.py: cannot read the RSS: no '
            '/proc/self/status and no psutil') from e


def release_free_heap() -> bool:
    """Return free C-heap pages to the OS (glibc ``malloc_trim``).

    Freed tensors can stay resident inside the heap; trimming before a
    measurement keeps an earlier case's leftovers out of the next baseline.

    Returns:
        bool: whether ``malloc_trim`` was available and called.
    """
    if not sys.platform.startswith('linux'):
        return False
    name = ctypes.util.find_library('c')
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


def reset_peak_rss() -> bool:
    """Reset Linux's peak-RSS counter (VmHWM) of this process.

    Returns:
        bool: True if the kernel accepted the reset (Linux >= 4.0).
    """
    if _status_kib('VmHWM') is None:
        return False
    try:
        with open(_CLEAR_REFS, 'w') as f:
            f.write('5')
    except OSError:
        return False
    # Some kernels accept the write but ignore it: check it took effect.
    hwm, rss = _status_kib('VmHWM'), _status_kib('VmRSS')
    return hwm is not None and rss is not None and hwm <= rss + 1024


class _RSSSampler(threading.Thread):
    """Polls the RSS every ``interval`` seconds and keeps the maximum."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = current_rss_bytes()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.peak = max(self.peak, current_rss_bytes())

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, current_rss_bytes())
        return self.peak


class PeakMemoryMeter:
    """Context manager measuring the peak memory a block adds.

    CPU: ``peak_bytes`` = peak RSS during the block - RSS at its start (after
    trimming the C heap), ``method`` = ``'rss-hwm'`` (kernel peak counter,
    exact) or ``'rss-sampling'`` (sampling thread every ``interval`` s; a
    peak shorter than that can be missed). CUDA: ``peak_bytes`` = max
    allocated - allocated at the start, ``method`` = ``'cuda-max-allocated'``
    (the caching allocator's counter; its reserved pool is reported apart).

    Args:
        device (str | torch.device): where the measured work allocates.
        interval (float): sampling period of the fallback sampler, seconds.
            Defaults to 0.005.

    Example:
        >>> with PeakMemoryMeter('cpu') as meter:
        ...     y = model(x)
        >>> meter.peak_bytes
    """

    def __init__(self,
                 device: Union[str, torch.device] = 'cpu',
                 interval: float = 0.005) -> None:
        self.device = torch.device(device)
        self.interval = interval
        self.method: Optional[str] = None
        self.baseline_bytes: Optional[int] = None
        self.peak_abs_bytes: Optional[int] = None
        self.peak_bytes: Optional[int] = None
        self.reserved_bytes: Optional[int] = None
        self._sampler: Optional[_RSSSampler] = None

    def __enter__(self) -> 'PeakMemoryMeter':
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline_bytes = torch.cuda.memory_allocated(self.device)
            self.method = 'cuda-max-allocated'
            return self
        if self.device.type != 'cpu':
            raise ValueError('ssa2d_mm/benchmarks/memory.py: peak memory is '
                             f'measured on cpu or cuda, not {self.device}')
        release_free_heap()
        self.baseline_bytes = current_rss_bytes()
        if reset_peak_rss():
            self.method = 'rss-hwm'
        else:
            self.method = 'rss-sampling'
            self._sampler = _RSSSampler(self.interval)
            self._sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.method == 'cuda-max-allocated':
            torch.cuda.synchronize(self.device)
            self.peak_abs_bytes = torch.cuda.max_memory_allocated(self.device)
            self.reserved_bytes = torch.cuda.max_memory_reserved(self.device)
        elif self.method == 'rss-hwm':
            self.peak_abs_bytes = _status_kib('VmHWM') * 1024
        else:
            self.peak_abs_bytes = self._sampler.stop()
        self.peak_bytes = max(0, self.peak_abs_bytes - self.baseline_bytes)

    def to_dict(self) -> dict:
        """Plain-JSON form (bytes and MiB)."""
        if self.peak_bytes is None:
            raise RuntimeError('ssa2d_mm/benchmarks/memory.py: the meter has '
                               'not measured a block yet')
        out = dict(
            method=self.method,
            baseline_bytes=self.baseline_bytes,
            peak_abs_bytes=self.peak_abs_bytes,
            peak_bytes=self.peak_bytes,
            peak_mib=self.peak_bytes / 2**20)
        if self.reserved_bytes is not None:
            out['max_reserved_bytes'] = self.reserved_bytes
        return out


def process_peak_rss_bytes() -> int:
    """Lifetime peak RSS of this process (``getrusage``), in bytes."""
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == 'darwin' else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale



def tensor_peak_bytes(fn: Callable[[], object]) -> Dict[str, object]:
    """Peak bytes of live CPU tensors allocated during one call of ``fn``.

    Counted from torch's profiler (``profile_memory=True``): allocations and
    frees of PyTorch's CPU allocator, in call order, at operator
    granularity (a buffer an operator allocates and frees inside itself is
    not seen; oneDNN's private scratch memory is not either). Unlike the
    RSS, it does not depend on the C allocator's reuse of freed pages, so it
    is the steadier figure to compare models with; tensors alive before the
    call (weights, inputs) are not counted. Code generated by
    ``torch.compile`` allocates outside the profiler's view: do not read
    this figure for compiled models.

    Args:
        fn (Callable[[], object]): the work; its result is dropped inside
            the profiled region, so outputs count only while alive.

    Returns:
        dict: ``peak_bytes``, ``peak_mib`` and ``method``.
    """
    from torch.profiler import ProfilerActivity, profile

    def call() -> None:
        out = fn()
        del out

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) \
            as prof:
        call()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    live = peak = 0
    for e in events:
        # '[memory]' entries are frees (and allocations) outside any
        # operator; an operator's own net allocation is its self usage.
        live += e.cpu_memory_usage if e.name == '[memory]' else \
            e.self_cpu_memory_usage
        peak = max(peak, live)
    return dict(
        peak_bytes=int(peak),
        peak_mib=peak / 2**20,
        method='torch.profiler profile_memory (live CPU tensor bytes, '
        'operator granularity)')
