"""What a benchmark ran on: software versions, CPU, threads, load, seed."""
import datetime
import importlib
import os
import platform
import random
from typing import Dict, Optional, Union

import numpy as np
import torch

_PACKAGES = ('mmengine', 'mmcv', 'mmaction', 'mmseg', 'mmdet', 'numpy')
_CPU_FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'avx512_vnni', 'amx_bf16',
              'amx_tile')


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cpu_model() -> Dict[str, object]:
    """CPU name, family / model ids (a hypervisor may hide the name), usable
    cores and the SIMD flags that matter for kernels."""
    name, flags = platform.processor() or platform.machine(), set()
    family = model_id = None
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                key, value = key.strip(), value.strip()
                if key == 'model name':
                    name = value
                elif key == 'cpu family':
                    family = value
                elif key == 'model':
                    model_id = value
                elif key == 'flags':
                    flags = set(value.split())
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else os.cpu_count()
    return dict(
        model=name,
        family=family,
        model_id=model_id,
        machine=platform.machine(),
        logical_cpus=os.cpu_count(),
        usable_cpus=usable,
        simd=[f for f in _CPU_FLAGS if f in flags])


def package_versions() -> Dict[str, Optional[str]]:
    """Versions of torch and the OpenMMLab packages (None: not installed)."""
    out = dict(
        python=platform.python_version(), torch=torch.__version__)
    for name in _PACKAGES:
        try:
            out[name] = importlib.import_module(name).__version__
        except ImportError:
            out[name] = None
    try:
        from ..compat import mmcv_has_compiled_ops
        out['mmcv_compiled_ops'] = mmcv_has_compiled_ops()
    except ImportError:
        out['mmcv_compiled_ops'] = None
    return out


def collect_environment(device: Union[str, torch.device] = 'cpu',
                        seed: Optional[int] = None) -> Dict[str, object]:
    """Everything needed to read (and reproduce) a measurement.

    Args:
        device (str | torch.device): the measured device.
        seed (int, optional): the seed used.

    Returns:
        dict: ``time_utc``, ``seed``, ``versions``, ``cpu``, ``torch_threads``,
        ``torch_interop_threads``, ``load_average`` (1, 5, 15 min, at call
        time: other work on the machine skews timings), ``nice``, ``device``
        and, on CUDA, ``gpu``.
    """
    device = torch.device(device)
    env = dict(
        time_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec='seconds'),
        seed=seed,
        versions=package_versions(),
        cpu=cpu_model(),
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        mkldnn=torch.backends.mkldnn.is_available(),
        load_average=list(os.getloadavg()) if hasattr(os, 'getloadavg')
        else None,
        nice=os.nice(0) if hasattr(os, 'nice') else None,
        device=str(device))
    if device.type == 'cuda':
        env['gpu'] = dict(
            name=torch.cuda.get_device_name(device),
            capability=list(torch.cuda.get_device_capability(device)),
            cuda=torch.version.cuda)
    return env
