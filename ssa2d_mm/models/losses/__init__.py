from .class_balanced_bce_loss import ClassBalancedBCELoss
from .volumetric_dice_loss import VolumetricDiceLoss

__all__ = ['ClassBalancedBCELoss', 'VolumetricDiceLoss']
