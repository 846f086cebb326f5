"""Wall-clock timing of a callable: warm-up, then timed runs."""
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional, Union

import torch


def synchronize(device: Union[str, torch.device]) -> None:
    """Wait for the device's queued work (a no-op on CPU).

    Args:
        device (str | torch.device): the device the timed work runs on.
    """
    device = torch.device(device)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def percentile(values: List[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` by linear interpolation.

    Args:
        values (list[float]): the samples, at least one.
        q (float): the percentile, in ``[0, 100]``.

    Returns:
        float: the interpolated percentile (numpy's default method).
    """
    if not values:
        raise ValueError('ssa2d_mm/benchmarks/timing.py: percentile of an '
                         'empty list')
    if not 0 <= q <= 100:
        raise ValueError(f'ssa2d_mm/benchmarks/timing.py: percentile q={q} '
                         'is outside [0, 100]')
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class TimingResult:
    """Latencies of the timed runs, in seconds.

    Args:
        times (list[float]): the latency of every timed run.
        warmup (int): how many untimed runs preceded them.
    """
    times: List[float]
    warmup: int
    median: float = field(init=False)
    p95: float = field(init=False)
    mean: float = field(init=False)
    min: float = field(init=False)

    def __post_init__(self) -> None:
        if not self.times:
            raise ValueError('ssa2d_mm/benchmarks/timing.py: TimingResult '
                             'needs at least one timed run')
        self.median = statistics.median(self.times)
        self.p95 = percentile(self.times, 95)
        self.mean = statistics.fmean(self.times)
        self.min = min(self.times)

    def to_dict(self) -> dict:
        """Plain-JSON form (seconds)."""
        return asdict(self)


def time_callable(fn: Callable[[], object],
                  warmup: int = 2,
                  iters: int = 5,
                  device: Union[str, torch.device] = 'cpu',
                  before_each: Optional[Callable[[], None]] = None
                  ) -> TimingResult:
    """Run ``fn`` ``warmup`` times untimed, then ``iters`` times timed.

    Each timed run is bracketed by a device synchronisation, so queued CUDA
    kernels are counted in the run that launched them.

    Args:
        fn (Callable[[], object]): the work to time; its result is dropped
            before the next run starts, so runs do not overlap in memory.
        warmup (int): untimed runs first (one-off costs: oneDNN primitive
            creation, ``torch.compile``, allocator growth). Defaults to 2.
        iters (int): timed runs, at least 1. Defaults to 5.
        device (str | torch.device): where ``fn`` runs. Defaults to 'cpu'.
        before_each (Callable, optional): untimed hook before every run
            (e.g. zeroing gradients).

    Returns:
        TimingResult: the per-run latencies and their summary.
    """
    if warmup < 0 or iters < 1:
        raise ValueError('ssa2d_mm/benchmarks/timing.py: need warmup >= 0 '
                         f'and iters >= 1, got warmup={warmup}, '
                         f'iters={iters}')
    for _ in range(warmup):
        if before_each is not None:
            before_each()
        out = fn()
        del out
    synchronize(device)
    times = []
    for _ in range(iters):
        if before_each is not None:
            before_each()
        synchronize(device)
        start = time.perf_counter()
        out = fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
        del out
    return TimingResult(times=times, warmup=warmup)
