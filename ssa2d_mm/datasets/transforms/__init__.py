from .flow_loading import LoadFlowClip
from .formatting import PackActorActionInputs
from .loading import (LoadA2DAnnotation, SampleAnnotatedClip, VideoDecode,
                      VideoInit)
from .processing import (ClipSegCenterCrop, ClipSegFlip, ClipSegRandomCrop,
                         ClipSegResize)
from .vidor_loading import LoadVidORAnnotation

__all__ = [
    'VideoInit', 'VideoDecode', 'SampleAnnotatedClip', 'LoadA2DAnnotation',
    'PackActorActionInputs', 'ClipSegCenterCrop', 'ClipSegFlip',
    'ClipSegRandomCrop', 'ClipSegResize'
]
__all__ += ['LoadVidORAnnotation', 'LoadFlowClip']
