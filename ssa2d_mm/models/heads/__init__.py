from .action_head import ActionHead
from .actor_head import ActorHead
from .base_volume_head import BaseVolumeHead

__all__ = ['ActionHead', 'ActorHead', 'BaseVolumeHead']
