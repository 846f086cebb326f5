from .ssa2d import SSA2D

__all__ = ['SSA2D']
