import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.fileio import LocalBackend
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from torch.utils.data import DataLoader, Dataset

from ssa2d_mm.engine import AtomicLocalBackend
from ssa2d_mm.engine.hooks import AtomicCheckpointHook


class _ToyModel(BaseModel):
    """The smallest trainable model: the hook only sees the runner."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return out


class _ToyDataset(Dataset):

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=torch.full((2, ), float(idx)))


class _Killed(Exception):
    """Stands for the process being killed while a checkpoint is written."""


def _train(work_dir: str,
           name: str,
           checkpoint_hook: dict,
           max_epochs: int = 3) -> Runner:
    runner = Runner(
        model=_ToyModel(),
        work_dir=work_dir,
        experiment_name=name,
        train_dataloader=DataLoader(
            _ToyDataset(),
            batch_size=2,
            collate_fn=lambda x: dict(inputs=[d['inputs'] for d in x])),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=checkpoint_hook),
        default_scope='mmaction')
    runner.train()
    return runner


def _spy(monkeypatch, cls, events: list, fail_on: str = None) -> None:
    put, remove = cls.put, cls.remove

    def spy_put(self, obj, filepath):
        if fail_on and osp.basename(str(filepath)) == fail_on:
            raise _Killed(str(filepath))
        events.append(('put', osp.basename(str(filepath))))
        put(self, obj, filepath)

    def spy_remove(self, filepath):
        events.append(('remove', osp.basename(str(filepath))))
        remove(self, filepath)

    monkeypatch.setattr(cls, 'put', spy_put)
    monkeypatch.setattr(cls, 'remove', spy_remove)


def test_checkpoint_and_pointer_go_through_atomic_backend(
        tmp_path, monkeypatch):
    events = []
    _spy(monkeypatch, AtomicLocalBackend, events)
    runner = _train(
        str(tmp_path), 'atomic_order',
        dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1))
    hook = next(h for h in runner.hooks if isinstance(h, AtomicCheckpointHook))
    assert isinstance(hook.file_backend, AtomicLocalBackend)
    assert hook.backend_args == dict(backend='atomic_local')
    # The outdated checkpoint goes only once the new one and the pointer to
    # it are complete.
    assert events == [
        ('put', 'epoch_1.pth'),
        ('put', 'last_checkpoint'),
        ('put', 'epoch_2.pth'),
        ('put', 'last_checkpoint'),
        ('remove', 'epoch_1.pth'),
        ('put', 'epoch_3.pth'),
        ('put', 'last_checkpoint'),
        ('remove', 'epoch_2.pth'),
    ]
    last = (tmp_path / 'last_checkpoint').read_text()
    assert last == osp.join(str(tmp_path), 'epoch_3.pth')
    assert CheckpointLoader.load_checkpoint(last, 'cpu')['meta']['epoch'] == 3
    assert runner.message_hub.get_info('keep_ckpt_ids') == [3]


def test_kill_while_saving_leaves_previous_checkpoint(tmp_path, monkeypatch):
    events = []
    _spy(monkeypatch, AtomicLocalBackend, events, fail_on='epoch_2.pth')
    with pytest.raises(_Killed):
        _train(
            str(tmp_path), 'atomic_killed',
            dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1))
    assert [f for f in os.listdir(tmp_path)
            if f.endswith('.pth')] == ['epoch_1.pth']
    last = (tmp_path / 'last_checkpoint').read_text()
    assert last == osp.join(str(tmp_path), 'epoch_1.pth')
    ckpt = CheckpointLoader.load_checkpoint(last, 'cpu')
    assert ckpt['meta']['epoch'] == 1


def test_upstream_hook_loses_the_only_checkpoint(tmp_path, monkeypatch):
    """What the reordering prevents: mmengine's CheckpointHook deletes the
    outdated checkpoint before writing the new one."""
    events = []
    _spy(monkeypatch, LocalBackend, events, fail_on='epoch_2.pth')
    with pytest.raises(_Killed):
        _train(
            str(tmp_path), 'upstream_killed',
            dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
    assert events == [('put', 'epoch_1.pth'), ('remove', 'epoch_1.pth')]
    last = (tmp_path / 'last_checkpoint').read_text()
    assert not osp.exists(last)


def test_explicit_backend_args_are_kept(tmp_path):
    runner = _train(
        str(tmp_path),
        'explicit_local',
        dict(
            type='AtomicCheckpointHook',
            interval=1,
            backend_args=dict(backend='local')),
        max_epochs=1)
    hook = next(h for h in runner.hooks if isinstance(h, AtomicCheckpointHook))
    assert type(hook.file_backend) is LocalBackend
    assert osp.isfile(tmp_path / 'epoch_1.pth')


def test_temporaries_of_an_interrupted_save_are_removed(tmp_path):
    stale = ['.epoch_2.pth.k3j_x9ab.tmp', '.last_checkpoint.0a1b2c3d.tmp']
    unrelated = ['.notes.abc.tmp', 'epoch_x.pth.tmp', 'keep.txt']
    for name in stale + unrelated:
        (tmp_path / name).write_bytes(b'partial')
    _train(
        str(tmp_path),
        'stale_tmp',
        dict(type='AtomicCheckpointHook', interval=1),
        max_epochs=1)
    left = set(os.listdir(tmp_path))
    assert not left & set(stale)
    assert set(unrelated) <= left
