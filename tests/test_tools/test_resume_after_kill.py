"""tools/train.py killed (SIGKILL) while writing a checkpoint resumes from the
previous one.
"""
import os
import os.path as osp
import re
import signal
import subprocess
import time

from mmengine.runner import CheckpointLoader
from tiny_e2e import (PYTHON, REPO, make_tiny_a2d, run_tool, tiny_config,
                      tool_env, write_config)

MAX_EPOCHS = 3
ITERS_PER_EPOCH = 3  # 3 annotated train frames, batch 1
KILLED_SAVE = 'epoch_2.pth'

# Imported by the training subprocess (custom_imports) to make the kill land
# inside a checkpoint write: the write of KILLED_SAVE stops halfway, data on
# disk, and waits to be killed. Only timing changes: the bytes go through
# AtomicLocalBackend.put as in any run.
STALL_MODULE = '''
import os
import os.path as osp
import time
import types

from ssa2d_mm.engine import atomic_backend

_put = atomic_backend.AtomicLocalBackend.put


class _StallingFile:

    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[:len(data) // 2])
        self._f.flush()
        os.fsync(self._f.fileno())
        time.sleep(120)
        return self._f.write(data[len(data) // 2:])

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _stalling_put(self, obj, filepath):
    if osp.basename(str(filepath)) != %r:
        return _put(self, obj, filepath)
    os_proxy = types.SimpleNamespace(**vars(os))
    os_proxy.fdopen = lambda *a, **k: _StallingFile(os.fdopen(*a, **k))
    atomic_backend.os = os_proxy
    try:
        return _put(self, obj, filepath)
    finally:
        atomic_backend.os = os


atomic_backend.AtomicLocalBackend.put = _stalling_put
''' % KILLED_SAVE


def _temporaries(work_dir: str) -> list:
    return [f for f in os.listdir(work_dir) if f.endswith('.tmp')]


def _kill_while_saving(config: str, work_dir: str, log_file: str,
                       env: dict) -> str:
    """Train until the write of KILLED_SAVE is half done, then SIGKILL.

    Returns:
        str: The partial temporary file the kill left.
    """
    os.makedirs(work_dir)
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(
            [PYTHON, 'tools/train.py', config, '--work-dir', work_dir],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while True:
                assert proc.poll() is None, open(log_file).read()[-3000:]
                assert time.monotonic() < deadline, 'no save began in 90 s'
                partial = [
                    f for f in _temporaries(work_dir)
                    if f.startswith(f'.{KILLED_SAVE}.')
                    and osp.getsize(osp.join(work_dir, f)) > 0
                ]
                if partial:
                    break
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return partial[0]


def test_resume_after_sigkill_during_save(tmp_path):
    release = make_tiny_a2d(str(tmp_path / 'data'))
    cfg = tiny_config(release, max_epochs=MAX_EPOCHS)
    stall_dir = tmp_path / 'stall'
    stall_dir.mkdir()
    (stall_dir / 'stall_checkpoint_write.py').write_text(STALL_MODULE)
    killed_cfg = cfg.copy()
    killed_cfg.custom_imports = dict(
        imports=['ssa2d_mm', 'stall_checkpoint_write'],
        allow_failed_imports=False)
    killed_config = write_config(killed_cfg, str(tmp_path / 'killed.py'))
    config = write_config(cfg, str(tmp_path / 'tiny.py'))
    work_dir = str(tmp_path / 'work')

    env = tool_env()
    env['PYTHONPATH'] = str(stall_dir) + os.pathsep + env['PYTHONPATH']
    partial = _kill_while_saving(killed_config, work_dir,
                                 str(tmp_path / 'killed.log'), env)

    # The kill cut the epoch-2 checkpoint short: it never took the final
    # name, and last_checkpoint still names the complete epoch-1 file.
    assert not osp.exists(osp.join(work_dir, KILLED_SAVE))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        last = f.read().strip()
    assert last == osp.join(work_dir, 'epoch_1.pth')
    ckpt = CheckpointLoader.load_checkpoint(last, map_location='cpu')
    assert ckpt['meta']['epoch'] == 1
    assert ckpt['meta']['iter'] == ITERS_PER_EPOCH

    resumed = run_tool(
        ['tools/train.py', config, '--work-dir', work_dir, '--resume'],
        timeout=120)
    out = resumed.stdout + resumed.stderr
    assert f'Auto resumed from the latest checkpoint {last}' in out
    assert f'resumed epoch: 1, iter: {ITERS_PER_EPOCH}' in out
    assert f'Removed {osp.join(work_dir, partial)}' in out
    # Training went on from epoch 2, not from the start.
    epochs_run = sorted(
        {int(e)
         for e in re.findall(r'Epoch\(train\) \[(\d+)\]', out)})
    assert epochs_run == list(range(2, MAX_EPOCHS + 1))

    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        final = f.read().strip()
    assert final == osp.join(work_dir, f'epoch_{MAX_EPOCHS}.pth')
    final_ckpt = CheckpointLoader.load_checkpoint(final, map_location='cpu')
    assert final_ckpt['meta']['epoch'] == MAX_EPOCHS
    assert final_ckpt['meta']['iter'] == MAX_EPOCHS * ITERS_PER_EPOCH
    # max_keep_ckpts=2 holds across the restart; the partial file is gone.
    kept = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))
    assert kept == [f'epoch_{MAX_EPOCHS - 1}.pth', f'epoch_{MAX_EPOCHS}.pth']
    assert _temporaries(work_dir) == []
