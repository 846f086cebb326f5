"""BadSampleHook: per-epoch and total counts of skipped samples in the log."""
import os.path as osp
from types import SimpleNamespace

import torch
from mmaction.registry import HOOKS
from mmengine.dataset import ConcatDataset
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.base_loop import BaseLoop

from ssa2d_mm.datasets.errors import BadSampleCounter
from ssa2d_mm.datasets.synthetic import make_synthetic_a2d
from ssa2d_mm.engine.hooks.bad_sample_hook import find_bad_sample_counters


class _Loop(BaseLoop):

    def run(self):
        pass


class _Logger:

    def __init__(self):
        self.messages = []

    def info(self, msg):
        self.messages.append(msg)


class _Dataset:
    """A dataset that skips bad samples, as A2DDataset does."""

    def __init__(self):
        self.bad_sample_counter = BadSampleCounter()


def make_runner(dataset):
    runner = SimpleNamespace(
        logger=_Logger(),
        epoch=0,
        message_hub=MessageHub.get_instance('test_bad_sample_hook'))
    runner._train_loop = _Loop(runner, SimpleNamespace(dataset=dataset))
    return runner


def test_logs_each_epoch_and_total():
    dataset = _Dataset()
    runner = make_runner(dataset)
    hook = HOOKS.build(dict(type='BadSampleHook'))
    hook.before_train(runner)
    dataset.bad_sample_counter.increment(3)
    hook.after_train_epoch(runner)
    runner.epoch = 1
    hook.after_train_epoch(runner)
    runner.epoch = 2
    dataset.bad_sample_counter.increment()
    hook.after_train_epoch(runner)
    hook.after_train(runner)
    assert runner.logger.messages == [
        'Epoch 1: skipped 3 bad training samples (3 in total)',
        'Epoch 2: skipped 0 bad training samples (3 in total)',
        'Epoch 3: skipped 1 bad training samples (4 in total)',
        'Training skipped 4 bad samples in total',
    ]
    assert runner.message_hub.get_info('train/bad_samples') == 4


def test_finds_counters_in_wrapped_datasets():
    a, b = _Dataset(), _Dataset()
    concat = ConcatDataset.__new__(ConcatDataset)
    concat.datasets = [a, b]
    found = find_bad_sample_counters(concat)
    assert len(found) == 2
    assert {id(c)
            for c in found
            } == {id(a.bad_sample_counter),
                  id(b.bad_sample_counter)}
    a.bad_sample_counter.increment(2)
    b.bad_sample_counter.increment(5)
    runner = make_runner(concat)
    hook = HOOKS.build(dict(type='BadSampleHook'))
    hook.before_train(runner)
    hook.after_train(runner)
    assert runner.logger.messages == [
        'Training skipped 7 bad samples in total'
    ]


def test_silent_without_counter_or_train_loop():
    runner = make_runner(object())
    hook = HOOKS.build(dict(type='BadSampleHook'))
    hook.before_train(runner)
    hook.after_train_epoch(runner)
    hook.after_train(runner)
    runner._train_loop = dict(type='EpochBasedTrainLoop')  # not built
    hook.after_train(runner)
    assert runner.logger.messages == []


class _ToyModel(BaseModel):
    """Takes any batch; its loss only needs a parameter."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, mode='tensor', **batch):
        assert all(len(v) == 2 for v in batch.values())
        return dict(loss=(self.w**2).sum())


def test_in_a_training_run(tmp_path):
    """A real Runner, a corrupt video, worker processes: the skips reach the
    run's log."""
    gt = make_synthetic_a2d(
        str(tmp_path / 'data'),
        num_videos=4,
        seed=2,
        height=32,
        width=64,
        num_frames=8)
    root = gt['release_dir']
    bad = next(v for v in gt['videos'] if v['split'] == 'train')
    with open(osp.join(root, 'clips320H', bad['vid'] + '.mp4'), 'wb') as f:
        f.write(b'corrupt' * 64)
    runner = Runner(
        model=_ToyModel(),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            dataset=dict(
                type='A2DDataset',
                data_root=root,
                skip_bad_samples=True,
                pipeline=[
                    dict(type='VideoInit'),
                    dict(type='SampleAnnotatedClip', clip_len=2),
                    dict(type='VideoDecode'),
                    dict(type='LoadA2DAnnotation'),
                ]),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate'),
            batch_size=2,
            num_workers=2,
            drop_last=True),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[dict(type='BadSampleHook')],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmaction')
    runner.train()
    dataset = runner.train_dataloader.dataset
    per_epoch = len(bad['labels'])  # each bad sample is drawn once an epoch
    assert dataset.num_bad_samples >= 2 * per_epoch
    log_file = osp.join(runner.log_dir, f'{runner.timestamp}.log')
    with open(log_file) as f:
        log = f.read()
    assert 'skipped bad sample' in log and bad['vid'] + '.mp4' in log
    assert 'Epoch 1: skipped' in log and 'Epoch 2: skipped' in log
    assert (f'Training skipped {dataset.num_bad_samples} bad samples in '
            'total') in log
