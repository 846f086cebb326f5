from .i3d_checkpoint import (convert_i3d_checkpoint, from_pytorch_i3d,
                             load_i3d_source, to_pytorch_i3d)
from .inception_i3d import InceptionI3D

__all__ = [
    'InceptionI3D', 'convert_i3d_checkpoint', 'from_pytorch_i3d',
    'load_i3d_source', 'to_pytorch_i3d'
]
