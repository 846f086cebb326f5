"""The compatibility layer, piece by piece: each patch works where needed and
is inert where it is not."""
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import HistoryBuffer

from ssa2d_mm import compat


def test_mmcv_ops_placeholder_only_without_compiled_ops():
    import mmcv.ops
    placeholder = isinstance(mmcv.ops, compat._PlaceholderOps)
    # mmcv-lite (the default install): placeholder; full mmcv: untouched.
    assert placeholder is not compat.mmcv_has_compiled_ops()
    assert ('patch_mmcv_ops' in compat.APPLIED) is placeholder


def test_point_sample_available_either_way():
    from mmcv.ops import point_sample
    feats = torch.arange(16.).view(1, 1, 4, 4)
    # Pixel centres of (row 1, col 2) and (row 3, col 0) in [0, 1] coords.
    points = torch.tensor([[[2.5 / 4, 1.5 / 4], [0.5 / 4, 3.5 / 4]]])
    out = point_sample(feats, points, align_corners=False)
    assert torch.allclose(out, torch.tensor([[[6., 12.]]]))
    grid = 2 * points.unsqueeze(2) - 1
    ref = F.grid_sample(feats, grid, align_corners=False).squeeze(3)
    assert torch.allclose(out, ref)


def test_missing_compiled_op_raises_clear_error_only_when_used():
    ops = compat._PlaceholderOps('mmcv.ops')
    RoIAlign, sigmoid_focal_loss = ops.RoIAlign, ops.sigmoid_focal_loss
    # Import, isinstance and subclassing work (upstream does these at import).
    assert not isinstance(torch.nn.Conv2d(1, 1, 1), RoIAlign)

    class Sub(RoIAlign):
        pass

    for build in (lambda: RoIAlign((7, 7), 1.0), lambda: Sub(),
                  lambda: sigmoid_focal_loss(torch.zeros(1), torch.zeros(1))):
        with pytest.raises(ImportError, match='needs full mmcv'):
            build()
    with pytest.raises(AttributeError):
        ops.__wrapped__


def test_mmcv_ops_patch_inert_with_compiled_ops(monkeypatch):
    saved = sys.modules.pop('mmcv.ops', None)
    try:
        monkeypatch.setattr(compat, 'mmcv_has_compiled_ops', lambda: True)
        assert compat.patch_mmcv_ops() is False
        assert 'mmcv.ops' not in sys.modules
    finally:
        if saved is not None:
            sys.modules['mmcv.ops'] = saved
    # Applying again changes nothing either.
    assert compat.patch_mmcv_ops() is False
    assert sys.modules.get('mmcv.ops') is saved


def test_both_model_registries_import():
    import mmaction.models  # noqa: F401
    import mmseg.models  # noqa: F401
    from mmaction.registry import MODELS as ACTION_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    assert 'ResNet3dSlowOnly' in ACTION_MODELS.module_dict
    assert 'CrossEntropyLoss' in SEG_MODELS.module_dict
    assert 'DiceLoss' in SEG_MODELS.module_dict


def test_drn_placeholder_raises_when_built():
    from mmaction.models.localizers import DRN
    assert 'patch_mmaction_drn' in compat.APPLIED
    with pytest.raises(ImportError, match='drn'):
        DRN()


def test_drn_patch_inert_when_module_present(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mmaction.models.localizers.drn',
                        object())
    assert compat.patch_mmaction_drn() is False


def test_drn_patch_inert_when_wheel_ships_drn(monkeypatch):
    monkeypatch.delitem(sys.modules, 'mmaction.models.localizers.drn')
    monkeypatch.setattr(compat.osp, 'isfile', lambda path: True)
    assert compat.patch_mmaction_drn() is False
    assert 'mmaction.models.localizers.drn' not in sys.modules


def _save_mmengine_like_checkpoint(path):
    buf = HistoryBuffer()
    buf.update(np.float64(0.5))
    torch.save({'message_hub': {'log_scalars': {'loss': buf}},
                'meta': {'seed': np.int64(3), 'arr': np.arange(3.)}}, path)


def test_mmengine_loader_reads_checkpoint_types(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    path = tmp_path / 'ckpt.pth'
    _save_mmengine_like_checkpoint(path)
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert loaded['meta']['seed'] == 3
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(3.))
    assert loaded['message_hub']['log_scalars']['loss'].current() == 0.5


def test_allowlist_is_scoped_to_mmengine_loader(tmp_path):
    path = tmp_path / 'ckpt.pth'
    _save_mmengine_like_checkpoint(path)
    with pytest.raises(Exception, match='[Ww]eights only load failed'):
        torch.load(path)


def test_checkpoint_patch_applied_once():
    from mmengine.runner.checkpoint import CheckpointLoader
    assert 'patch_checkpoint_loading' in compat.APPLIED
    assert CheckpointLoader._schemes['']._with_safe_globals
    assert compat.patch_checkpoint_loading() is False


def test_checkpoint_patch_inert_without_weights_only_default(monkeypatch):
    from mmengine.runner.checkpoint import CheckpointLoader
    before = dict(CheckpointLoader._schemes)
    monkeypatch.setattr(compat, '_loads_weights_only_by_default',
                        lambda: False)
    assert compat.patch_checkpoint_loading() is False
    assert CheckpointLoader._schemes == before


def test_runner_resumes_under_weights_only_loading(tmp_path):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Line(BaseModel):

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, inputs, data_samples=None, mode='tensor'):
            loss = ((self.w * inputs - 1)**2).mean()
            return dict(loss=loss)

    def make_runner(resume):
        return Runner(
            model=Line(),
            work_dir=str(tmp_path),
            train_dataloader=dict(
                dataset=[dict(inputs=torch.ones(1))] * 4,
                sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='default_collate'),
                batch_size=2),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            train_cfg=dict(by_epoch=True, max_epochs=2 if resume else 1),
            default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                               interval=1)),
            resume=resume,
            default_scope='mmengine')

    make_runner(False).train()
    runner = make_runner(True)
    runner.train()
    assert runner.epoch == 2 and runner.iter == 4
