"""tools/test.py: command line -> config (visualization, official-form
output, dumped predictions)."""
import importlib.util
import os.path as osp
import sys

import pytest
from mmengine.config import Config
from tiny_e2e import REPO


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location(
        'tool_test', osp.join(REPO, 'tools', 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _merge(tool, monkeypatch, cfg: Config, *argv) -> Config:
    monkeypatch.setattr(sys, 'argv',
                        ['test.py', 'configs/x/cfg.py', 'ckpt.pth', *argv])
    return tool.merge_args(cfg, tool.parse_args())


def _cfg(**kwargs) -> Config:
    cfg = dict(
        default_hooks=dict(
            visualization=dict(
                type='ActorActionVisualizationHook', draw=False)),
        test_evaluator=dict(type='ActorActionMetric'))
    cfg.update(kwargs)
    return Config(cfg)


def test_checkpoint_and_work_dir(tool, monkeypatch):
    cfg = _merge(tool, monkeypatch, _cfg())
    assert cfg.load_from == 'ckpt.pth'
    assert cfg.work_dir == osp.join('./work_dirs', 'cfg')
    assert cfg.default_hooks.visualization.draw is False
    cfg = _merge(tool, monkeypatch, _cfg(), '--work-dir', 'w', '--cfg-options',
                 'test_evaluator.prefix=a2d')
    assert cfg.work_dir == 'w'
    assert cfg.test_evaluator.prefix == 'a2d'


def test_show_dir_turns_on_the_visualization_hook(tool, monkeypatch):
    cfg = _merge(tool, monkeypatch, _cfg(), '--show-dir', 'vis', '--interval',
                 '5')
    hook = cfg.default_hooks.visualization
    assert hook.draw is True
    assert hook.out_dir == 'vis'
    assert hook.interval == 5
    assert 'show' not in hook


def test_show_dir_needs_a_visualization_hook(tool, monkeypatch):
    cfg = _cfg()
    cfg.default_hooks.pop('visualization')
    with pytest.raises(RuntimeError, match='visualization hook'):
        _merge(tool, monkeypatch, cfg, '--show-dir', 'vis')


def test_out_dir_reaches_every_actor_action_metric(tool, monkeypatch):
    cfg = _merge(tool, monkeypatch, _cfg(), '--out-dir', 'pngs')
    assert cfg.test_evaluator.output_dir == 'pngs'
    cfg = _merge(
        tool, monkeypatch,
        _cfg(test_evaluator=[
            dict(type='ActorActionMetric', prefix='a'),
            dict(type='mmaction.ActorActionMetric', prefix='b'),
            dict(type='DumpResults', out_file_path='x.pkl')
        ]), '--out-dir', 'pngs')
    assert [m.get('output_dir')
            for m in cfg.test_evaluator] == ['pngs', 'pngs', None]


def test_out_dir_needs_the_metric(tool, monkeypatch):
    with pytest.raises(ValueError, match='ActorActionMetric'):
        _merge(tool, monkeypatch,
               _cfg(test_evaluator=dict(type='mmseg.IoUMetric')), '--out-dir',
               'pngs')


def test_dump_appends_dump_results(tool, monkeypatch):
    cfg = _merge(tool, monkeypatch, _cfg(), '--dump', 'r.pkl')
    assert [m['type'] for m in cfg.test_evaluator
            ] == ['ActorActionMetric', 'DumpResults']
    assert cfg.test_evaluator[1].out_file_path == 'r.pkl'
    with pytest.raises(AssertionError, match='pkl'):
        _merge(tool, monkeypatch, _cfg(), '--dump', 'r.json')
