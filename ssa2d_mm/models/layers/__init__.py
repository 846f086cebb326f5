from .aspp3d import ASPP3D

__all__ = ['ASPP3D']
