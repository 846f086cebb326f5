"""tools/train.py killed mid-run (SIGKILL) resumes from its last checkpoint.
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

MAX_EPOCHS = 5
ITERS_PER_EPOCH = 3  # 3 annotated train frames, batch 1


def _tmp_checkpoints(work_dir: str) -> list:
    return [
        f for f in os.listdir(work_dir)
        if f.startswith('.epoch_') and f.endswith('.tmp')
    ]


def _kill_mid_run(config: str, work_dir: str, log_file: str) -> str:
    """Start training, SIGKILL it once a first checkpoint exists (at the
    first moment a later checkpoint is being written, if the polling sees
    it); return the checkpoint ``last_checkpoint`` named at the kill."""
    os.makedirs(work_dir)
    pointer = osp.join(work_dir, 'last_checkpoint')
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(
            [PYTHON, 'tools/train.py', config, '--work-dir', work_dir],
            cwd=REPO,
            env=tool_env(),
            stdout=log,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while not osp.exists(pointer):
                assert proc.poll() is None, open(log_file).read()[-3000:]
                assert time.monotonic() < deadline, 'no checkpoint in 90 s'
                time.sleep(0.01)
            first_seen = time.monotonic()
            # Aim at a save in progress (a temporary file), else kill
            # within the next epoch.
            while not _tmp_checkpoints(work_dir) and \
                    time.monotonic() - first_seen < 0.3:
                time.sleep(0.002)
            assert proc.poll() is None, (
                'training finished before it could be killed; raise '
                'MAX_EPOCHS')
            saving = _tmp_checkpoints(work_dir)
            proc.send_signal(signal.SIGKILL)
            print(f'SIGKILL {"while writing " + str(saving) if saving else "between saves"}')
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with open(pointer) as f:
        return f.read().strip()


def test_resume_after_sigkill(tmp_path):
    release = make_tiny_a2d(str(tmp_path / 'data'))
    config = write_config(
        tiny_config(release, max_epochs=MAX_EPOCHS), str(tmp_path / 'tiny.py'))
    work_dir = str(tmp_path / 'work')

    last = _kill_mid_run(config, work_dir, str(tmp_path / 'killed.log'))
    # Whatever the moment of the kill, the checkpoint named by
    # last_checkpoint is complete.
    ckpt = CheckpointLoader.load_checkpoint(last, map_location='cpu')
    epoch = ckpt['meta']['epoch']
    assert 1 <= epoch < MAX_EPOCHS
    assert ckpt['meta']['iter'] == epoch * ITERS_PER_EPOCH
    assert osp.basename(last) == f'epoch_{epoch}.pth'

    resumed = run_tool(
        ['tools/train.py', config, '--work-dir', work_dir, '--resume'],
        timeout=120)
    out = resumed.stdout + resumed.stderr
    assert f'Auto resumed from the latest checkpoint {last}' in out
    assert f'resumed epoch: {epoch}, iter: {epoch * ITERS_PER_EPOCH}' in out
    # Training went on from the next epoch, not from the start.
    epochs_run = sorted(
        {int(e) for e in re.findall(r'Epoch\(train\) \[(\d+)\]', out)})
    assert epochs_run == list(range(epoch + 1, MAX_EPOCHS + 1))

    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        final = f.read().strip()
    assert final == osp.join(work_dir, f'epoch_{MAX_EPOCHS}.pth')
    final_ckpt = CheckpointLoader.load_checkpoint(final, map_location='cpu')
    assert final_ckpt['meta']['epoch'] == MAX_EPOCHS
    assert final_ckpt['meta']['iter'] == MAX_EPOCHS * ITERS_PER_EPOCH
    # max_keep_ckpts=2 holds across the restart, and a temporary file of a
    # save cut short by the kill was cleared when training restarted.
    kept = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))
    assert kept == [f'epoch_{MAX_EPOCHS - 1}.pth', f'epoch_{MAX_EPOCHS}.pth']
    assert _tmp_checkpoints(work_dir) == []
