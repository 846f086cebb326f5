"""tools/train.py: command line -> config, and the CPU distributed setup."""
import importlib.util
import os.path as osp
import sys

import pytest
from mmengine.config import Config
from tiny_e2e import REPO


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(
        f'tool_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def train():
    return _load_tool('train')


def _args(train, monkeypatch, *argv):
    monkeypatch.setattr(sys, 'argv', ['train.py', 'configs/x/cfg.py', *argv])
    return train.parse_args()


def _cfg(**kwargs) -> Config:
    return Config(
        dict(
            optim_wrapper=dict(
                type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)),
            auto_scale_lr=dict(enable=False, base_batch_size=6),
            env_cfg=dict(dist_cfg=dict(backend='nccl')),
            val_cfg=dict(type='ValLoop'),
            val_dataloader=dict(batch_size=1),
            val_evaluator=dict(type='ActorActionMetric'),
            **kwargs))


def test_defaults(train, monkeypatch):
    cfg = train.merge_args(_cfg(), _args(train, monkeypatch))
    assert cfg.work_dir == osp.join('./work_dirs', 'cfg')
    assert cfg.launcher == 'none'
    assert 'resume' not in cfg
    assert cfg.randomness == dict(
        seed=None, diff_rank_seed=False, deterministic=False)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_resume_auto_and_path(train, monkeypatch):
    cfg = train.merge_args(_cfg(), _args(train, monkeypatch, '--resume'))
    assert cfg.resume is True and cfg.load_from is None
    cfg = train.merge_args(
        _cfg(), _args(train, monkeypatch, '--resume', 'w/epoch_3.pth'))
    assert cfg.resume is True and cfg.load_from == 'w/epoch_3.pth'


def test_flags(train, monkeypatch):
    args = _args(train, monkeypatch, '--work-dir', 'w', '--amp',
                 '--auto-scale-lr', '--seed', '3', '--deterministic',
                 '--no-validate', '--launcher', 'pytorch', '--cfg-options',
                 'optim_wrapper.optimizer.lr=0.5')
    cfg = train.merge_args(_cfg(), args)
    assert cfg.work_dir == 'w'
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.auto_scale_lr.enable is True
    assert cfg.randomness.seed == 3 and cfg.randomness.deterministic
    assert cfg.val_cfg is None and cfg.val_dataloader is None
    assert cfg.launcher == 'pytorch'
    assert cfg.optim_wrapper.optimizer.lr == 0.5


def test_randomness_in_config_wins(train, monkeypatch):
    cfg = train.merge_args(
        _cfg(randomness=dict(seed=7)), _args(train, monkeypatch, '--seed',
                                             '3'))
    assert cfg.randomness == dict(seed=7)


def test_auto_scale_lr_needs_base_batch_size(train, monkeypatch):
    cfg = _cfg()
    cfg.pop('auto_scale_lr')
    with pytest.raises(ValueError, match='base_batch_size'):
        train.merge_args(cfg, _args(train, monkeypatch, '--auto-scale-lr'))


def test_amp_refuses_custom_wrapper(train, monkeypatch):
    cfg = _cfg()
    cfg.optim_wrapper.type = 'MyWrapper'
    with pytest.raises(AssertionError, match='MyWrapper'):
        train.merge_args(cfg, _args(train, monkeypatch, '--amp'))


def test_cpu_distributed_setup_leaves_single_process_alone(train):
    cfg = _cfg(launcher='none')
    train.setup_cpu_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


def test_cpu_distributed_setup_refuses_slurm_without_cuda(train):
    with pytest.raises(RuntimeError, match='--launcher pytorch'):
        train.setup_cpu_distributed(_cfg(launcher='slurm'))
