"""mmseg's CrossEntropyLoss, reused by SSA2D, on clips (N, C, T, H, W)."""
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS


def _ce():
    return MODELS.build(
        dict(type='mmseg.CrossEntropyLoss', avg_non_ignore=True))


def test_mmseg_ce_on_clips_averages_over_annotated_voxels():
    pred = torch.randn(2, 5, 3, 4, 4)
    label = torch.randint(0, 5, (2, 3, 4, 4))
    label[:, 1:] = 255  # one annotated frame per clip, as A2D
    loss = _ce()(pred, label, ignore_index=255)
    valid = label != 255
    logp = F.log_softmax(pred, dim=1)
    picked = logp.gather(1, label.clamp(max=4).unsqueeze(1))[:, 0]
    expected = -picked[valid].mean()
    assert torch.allclose(loss, expected, atol=1e-6)


def test_mmseg_ce_ignored_voxels_do_not_change_the_loss():
    pred = torch.randn(1, 4, 2, 3, 3)
    label = torch.randint(0, 4, (1, 2, 3, 3))
    label[0, 1] = 255
    ce = _ce()
    base = ce(pred, label, ignore_index=255)
    changed = pred.clone()
    changed[:, :, 1] = torch.randn(1, 4, 3, 3) * 10
    assert torch.allclose(ce(changed, label, ignore_index=255), base)
    changed2 = pred.clone()
    changed2[:, :, 0] += torch.randn(1, 4, 3, 3)
    assert not torch.allclose(ce(changed2, label, ignore_index=255), base)
