import os
import os.path as osp

import pytest
import torch
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.fileio.backends import local_backend
from mmengine.runner import save_checkpoint

from ssa2d_mm.engine import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend
from ssa2d_mm.engine import atomic_backend


class _WriteFailsMidway:
    """Wraps a binary file; ``write`` writes half of the data, then raises,
    as a process dying or a disk filling up in the middle of a write."""

    def __init__(self, f):
        self._f = f

    def write(self, data: bytes) -> int:
        self._f.write(data[:len(data) // 2])
        self._f.flush()
        raise OSError('simulated failure in the middle of a write')

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _fail_writes(monkeypatch) -> None:
    """Make the file writes of both backends fail midway."""
    real_fdopen = os.fdopen
    # AtomicLocalBackend writes through os.fdopen(mkstemp's descriptor).
    monkeypatch.setattr(
        atomic_backend.os, 'fdopen',
        lambda *a, **k: _WriteFailsMidway(real_fdopen(*a, **k)))
    # LocalBackend writes through open(filepath, 'wb'); a module global
    # shadows the builtin for that module only.
    monkeypatch.setattr(
        local_backend,
        'open',
        lambda *a, **k: _WriteFailsMidway(open(*a, **k)),
        raising=False)


def test_registered_and_selected_by_backend_args(tmp_path):
    backend = get_file_backend(
        str(tmp_path / 'epoch_1.pth'),
        backend_args=dict(backend=ATOMIC_LOCAL_BACKEND))
    assert isinstance(backend, AtomicLocalBackend)


def test_put_and_put_text_write_complete_files(tmp_path):
    backend = AtomicLocalBackend()
    path = tmp_path / 'new_dir' / 'a.bin'
    backend.put(b'first', path)
    assert path.read_bytes() == b'first'
    backend.put(b'second, longer', str(path))
    assert path.read_bytes() == b'second, longer'
    backend.put_text('pointer', tmp_path / 'last_checkpoint')
    assert backend.get_text(tmp_path / 'last_checkpoint') == 'pointer'
    # Only the final files remain, with the mode a plain write gives.
    assert sorted(os.listdir(tmp_path / 'new_dir')) == ['a.bin']
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~umask


def test_interrupted_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    backend = AtomicLocalBackend()
    backend.put(b'previous complete checkpoint', path)

    _fail_writes(monkeypatch)
    with pytest.raises(OSError, match='middle of a write'):
        backend.put(b'new checkpoint that never completes', path)
    monkeypatch.undo()

    assert path.read_bytes() == b'previous complete checkpoint'
    # The half-written temporary file was removed.
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_local_backend_would_have_corrupted_the_file(tmp_path, monkeypatch):
    """The failure mode AtomicLocalBackend exists for, shown on mmengine's
    LocalBackend under the same interruption."""
    path = tmp_path / 'epoch_1.pth'
    path.write_bytes(b'previous complete checkpoint')
    _fail_writes(monkeypatch)
    with pytest.raises(OSError, match='middle of a write'):
        LocalBackend().put(b'new checkpoint that never completes', path)
    monkeypatch.undo()
    assert path.read_bytes() == b'new checkpoint th'


def test_interrupted_save_checkpoint_keeps_loadable_checkpoint(
        tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.pth')
    backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)
    save_checkpoint({
        'meta': {
            'epoch': 1
        },
        'state_dict': {
            'w': torch.ones(3)
        }
    },
                    path,
                    backend_args=backend_args)

    _fail_writes(monkeypatch)
    with pytest.raises(OSError):
        save_checkpoint(
            {
                'meta': {
                    'epoch': 2
                },
                'state_dict': {
                    'w': torch.zeros(300)
                }
            },
            path,
            backend_args=backend_args)
    monkeypatch.undo()

    ckpt = torch.load(path, weights_only=True)
    assert ckpt['meta']['epoch'] == 1
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(3))
    assert osp.isfile(path) and len(os.listdir(tmp_path)) == 1
