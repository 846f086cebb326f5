"""SSA2D's object prior and selective attention mask for the action
branch."""
from typing import List, Optional, Union

import torch
from mmengine.model import BaseModule
from mmaction.registry import MODELS


@MODELS.register_module()
class ObjectPriorFusion(BaseModule):
    """Builds the action branch's input from the decoder features.

    - Object prior: the actor branch's features are concatenated to the
      decoder features (as the authors' code does), so the action branch
      knows which actor it looks at.
    - Selective attention mask: a foreground mask ``(N, 1, T', H', W')`` in
      [0, 1] gates (multiplies) the result, so the action branch only sees
      actor voxels. The segmentor passes the ground-truth foreground in
      ``loss`` and the predicted one in ``predict``.

    Both are switchable: the paper's two ablations ("without object prior",
    "without attention mask"). Concatenation and gating have no parameters.

    Args:
        decoder_channels (int): Channels of the decoder features.
        actor_channels (int): Channels of the actor features.
        use_object_prior (bool): Concatenate the actor features. Defaults to
            True.
        use_attention_mask (bool): Gate with the foreground mask. Defaults
            to True.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 decoder_channels: int,
                 actor_channels: int,
                 use_object_prior: bool = True,
                 use_attention_mask: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.decoder_channels = decoder_channels
        self.actor_channels = actor_channels
        self.use_object_prior = use_object_prior
        self.use_attention_mask = use_attention_mask

    @property
    def out_channels(self) -> int:
        """Channels of the fused features."""
        return self.decoder_channels + (
            self.actor_channels if self.use_object_prior else 0)

    def forward(self,
                decoder_feats: torch.Tensor,
                actor_feats: torch.Tensor,
                fg_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Fuse.

        Args:
            decoder_feats (torch.Tensor): ``(N, decoder_channels, T', H',
                W')``.
            actor_feats (torch.Tensor): ``(N, actor_channels, T', H', W')``.
            fg_mask (torch.Tensor, optional): Foreground ``(N, 1, T', H',
                W')`` in [0, 1]; required when ``use_attention_mask``.

        Returns:
            torch.Tensor: ``(N, out_channels, T', H', W')``.
        """
        if decoder_feats.dim() != 5 or \
                decoder_feats.shape[1] != self.decoder_channels:
            raise ValueError(
                'object_prior_fusion.py: decoder features must be (N, '
                f'{self.decoder_channels}, T, H, W), got '
                f'{tuple(decoder_feats.shape)}')
        x = decoder_feats
        if self.use_object_prior:
            if actor_feats.shape[1] != self.actor_channels or \
                    actor_feats.shape[2:] != decoder_feats.shape[2:]:
                raise ValueError(
                    'object_prior_fusion.py: actor features must be (N, '
                    f'{self.actor_channels}, {tuple(x.shape[2:])}), got '
                    f'{tuple(actor_feats.shape)}')
            x = torch.cat([x, actor_feats], dim=1)
        if self.use_attention_mask:
            if fg_mask is None:
                raise ValueError('object_prior_fusion.py: '
                                 'use_attention_mask=True needs fg_mask')
            if fg_mask.dim() != 5 or fg_mask.shape[1] != 1 or \
                    fg_mask.shape[2:] != x.shape[2:]:
                raise ValueError(
                    'object_prior_fusion.py: fg_mask must be (N, 1, '
                    f'{tuple(x.shape[2:])}), got {tuple(fg_mask.shape)}')
            x = x * fg_mask.to(x.dtype)
        return x
