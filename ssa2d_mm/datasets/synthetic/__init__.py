from .a2d import make_synthetic_a2d, write_a2d_mat, write_a2d_readme
from .vidor import make_synthetic_vidor

__all__ = ['make_synthetic_a2d', 'write_a2d_mat', 'write_a2d_readme']
__all__ += ['make_synthetic_vidor']
