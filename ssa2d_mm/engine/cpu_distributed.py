"""Distributed training and testing on CPU-only machines (gloo).

Used by ``tools/train.py`` and ``tools/test.py`` before they build the Runner.
"""
import datetime
import logging

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log


def setup_cpu_distributed(cfg: Config) -> None:
    """Start a gloo process group when a distributed run has no CUDA.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` before
    ``init_process_group`` (a CPU build of torch has no CUDA runtime to call)
    and wraps the model in DDP with ``device_ids=[LOCAL_RANK]`` (DDP refuses
    device ids for a CPU module). Where CUDA is absent this starts the
    process group itself with gloo (the Runner then skips ``init_dist``) and
    builds the DDP wrapper without device ids. With CUDA, nothing changes.

    Args:
        cfg (Config): The merged config; ``cfg.launcher`` is read,
            ``env_cfg.dist_cfg.backend`` and ``model_wrapper_cfg`` are
            updated to what is used.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {cfg.launcher} without CUDA is not supported by '
            "mmengine's init_dist; use --launcher pytorch (torchrun, "
            'tools/dist_train.sh / dist_test.sh) for CPU-only runs.')
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    backend = dist_cfg.get('backend', 'nccl')
    if backend != 'gloo':
        print_log(
            f'CUDA is not available: distributed backend {backend!r} -> '
            "'gloo'.",
            logger='current',
            level=logging.WARNING)
    dist_cfg.backend = 'gloo'
    if not torch_dist.is_initialized():
        kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        if kwargs.get('timeout') is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        # RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT come from torchrun.
        torch_dist.init_process_group(backend='gloo', **kwargs)
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    # None wins over the Runner's default device_ids=[LOCAL_RANK].
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    print_log(
        f'Distributed on CPU: rank {torch_dist.get_rank()} of world size '
        f'{torch_dist.get_world_size()}, backend gloo.',
        logger='current')
