from .object_prior_fusion import ObjectPriorFusion
from .ssa2d_decoder import SSA2DDecoder

__all__ = ['ObjectPriorFusion', 'SSA2DDecoder']
