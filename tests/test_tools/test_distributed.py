"""Two-process CPU runs of tools/dist_train.sh and tools/dist_test.sh
(torchrun, --launcher pytorch; the tools switch nccl to gloo without CUDA).
"""
import glob
import json
import os.path as osp
import pickle
import subprocess

from tiny_e2e import (PYTHON, REPO, free_port, make_tiny_a2d, tiny_config,
                      tool_env, write_config)


def _dist(script: str, args: list, timeout: float = 180) -> str:
    proc = subprocess.run(
        ['bash', osp.join('tools', script)] + args,
        cwd=REPO,
        env=tool_env(dict(PYTHON=PYTHON, PORT=str(free_port()))),
        capture_output=True,
        text=True,
        timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{script} failed:\n{out[-6000:]}'
    return out


def test_dist_train_and_test_two_cpu_processes(tmp_path):
    release = make_tiny_a2d(str(tmp_path / 'data'))
    # The config asks for nccl, as the project's configs do.
    cfg = tiny_config(release, max_epochs=1)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    config = write_config(cfg, str(tmp_path / 'tiny.py'))
    work_dir = str(tmp_path / 'work')

    out = _dist('dist_train.sh', [config, '2', '--work-dir', work_dir])
    for rank in (0, 1):
        assert f'rank {rank} of world size 2, backend gloo' in out
    assert "distributed backend 'nccl' -> 'gloo'" in out
    assert 'Distributed training: True' in out
    assert 'GPU number: 2' in out
    # 3 training clips shared by 2 ranks (the sampler pads to 4): 2
    # iterations per epoch instead of 3.
    assert 'Epoch(train) [1][2/2]' in out
    assert 'Epoch(train) [1][3/3]' not in out
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(checkpoint)

    test_dir = str(tmp_path / 'test')
    dump = str(tmp_path / 'results.pkl')
    out = _dist(
        'dist_test.sh',
        [config, checkpoint, '2', '--work-dir', test_dir, '--dump', dump])
    for rank in (0, 1):
        assert f'rank {rank} of world size 2, backend gloo' in out
    # The metrics of the 6 test clips, 3 per rank, collected on rank 0.
    with open(dump, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 6
    assert len({(r['video_id'], r['frame_id']) for r in results}) == 6
    [metrics_file] = glob.glob(osp.join(test_dir, '*', '*.json'))
    with open(metrics_file) as f:
        metrics = json.load(f)
    for key in ('actor_miou', 'action_miou', 'joint_miou'):
        assert 0.0 <= metrics[key] <= 1.0
