import importlib.util
import os.path as osp

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis', 'model_stats.py')

TINY_RECOGNIZER = """
default_scope = 'mmaction'
custom_imports = dict(imports=['ssa2d_mm'], allow_failed_imports=False)
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNet3dSlowOnly', depth=18, pretrained=None,
        pretrained2d=False, base_channels=8, in_channels=3,
        conv1_kernel=(1, 7, 7), inflate=(0, 0, 1, 1)),
    cls_head=dict(type='I3DHead', in_channels=64, num_classes=5),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5], format_shape='NCTHW'))
"""

# The I3D stem alone: its MACs are known in closed form.
I3D_STEM = """
custom_imports = dict(imports=['ssa2d_mm'], allow_failed_imports=False)
model = dict(type='InceptionI3D', in_channels=2,
             final_endpoint='Conv3d_1a_7x7', out_endpoints=['Conv3d_1a_7x7'])
"""


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('model_stats', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(tmp_path, text, name='cfg.py'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_recognizer_stats(tool, tmp_path):
    cfg = _write(tmp_path, TINY_RECOGNIZER)
    stats = tool.collect_model_stats(cfg, shape=(8, 32, 32))
    assert stats['model_type'] == 'Recognizer3D'
    assert stats['input_shape'] == (1, 3, 8, 32, 32)

    model = MODELS.build(Config.fromfile(cfg).model)
    total = sum(p.numel() for p in model.parameters())
    assert stats['params'] == total == stats['trainable_params']
    by_module = stats['params_by_module']
    assert list(by_module) == ['data_preprocessor', 'backbone', 'cls_head']
    assert by_module['cls_head'] == 64 * 5 + 5
    assert by_module['backbone'] == sum(p.numel()
                                        for p in model.backbone.parameters())
    assert sum(by_module.values()) == total

    # the head ran (stage='head'): its fc is 64 x 5 multiply-adds
    assert stats['flops_by_module']['cls_head'] == 64 * 5
    assert stats['flops_by_module']['backbone'] > 0
    assert stats['flops'] == sum(stats['flops_by_module'].values())
    assert stats['gmacs'] == pytest.approx(stats['flops'] / 1e9)


def test_flops_match_closed_form(tool, tmp_path):
    cfg = _write(tmp_path, I3D_STEM)
    stats = tool.collect_model_stats(cfg, shape=(4, 16, 16))
    # in_channels from the model config; no data preprocessor
    assert stats['input_shape'] == (1, 2, 4, 16, 16)
    assert stats['call'] == 'model(inputs)'
    out_voxels = 2 * 8 * 8  # TF SAME, stride 2
    conv = 64 * 2 * 7 * 7 * 7 * out_voxels
    bn = 2 * 64 * out_voxels  # mmengine: eval BN, affine, 2 per element
    assert stats['flops'] == conv + bn
    assert stats['params'] == 64 * 2 * 343 + 2 * 64
    assert stats['params_by_module'] == {'Conv3d_1a_7x7': 64 * 2 * 343 + 128}


def test_cfg_options_and_channels(tool, tmp_path):
    cfg = _write(tmp_path, TINY_RECOGNIZER)
    stats = tool.collect_model_stats(
        cfg,
        shape=(4, 32, 32),
        cfg_options={
            'model.cls_head.num_classes': 7,
            'model.backbone.in_channels': 2,
            'model.data_preprocessor.mean': [0., 0.],
            'model.data_preprocessor.std': [1., 1.]
        })
    assert stats['params_by_module']['cls_head'] == 64 * 7 + 7
    assert stats['input_shape'] == (1, 2, 4, 32, 32)
    with pytest.raises(ValueError, match='T, H, W'):
        tool.collect_model_stats(cfg, shape=(32, 32))


def test_infer_in_channels(tool):
    assert tool.infer_in_channels(
        dict(
            data_preprocessor=dict(mean=[1, 2]),
            backbone=dict(in_channels=3))) == 2
    assert tool.infer_in_channels(dict(backbone=dict(in_channels=2))) == 2
    assert tool.infer_in_channels(dict(type='X')) == 3


def test_main_prints_report(tool, tmp_path, capsys):
    cfg = _write(tmp_path, TINY_RECOGNIZER)
    stats = tool.main([cfg, '--shape', '4', '32', '32'])
    out = capsys.readouterr().out
    assert 'fused multiply-add as one flop' in out
    assert 'GMACs' in out
    assert f'parameters: {stats["params"]:,}' in out
    assert 'backbone' in out and 'cls_head' in out


def test_model_with_mode_argument(tool, tmp_path):
    # A BaseModel that is not a recognizer is called with mode='tensor'.
    from mmengine.model import BaseModel

    @MODELS.register_module(force=True)
    class _TinyTensorModel(BaseModel):

        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv3d(3, 4, 1)
            self.modes = []

        def forward(self, inputs, data_samples=None, mode='tensor'):
            self.modes.append(mode)
            return self.conv(inputs)

    cfg = _write(tmp_path, "model = dict(type='_TinyTensorModel')\n")
    try:
        stats = tool.collect_model_stats(cfg, shape=(2, 4, 4))
    finally:
        MODELS.module_dict.pop('_TinyTensorModel')
    assert stats['call'] == "model(inputs, mode='tensor')"
    assert stats['flops'] == 3 * 4 * 2 * 4 * 4
