from .transforms import *  # noqa: F401,F403
from .a2d_dataset import A2DDataset, load_videoset  # noqa: F401
from .errors import BadSampleCounter, DataFileError  # noqa: F401
from .vidor_dataset import VidORDataset  # noqa: F401
from .vidor_labels import (VIDOR_ACTION_PREDICATES, VIDOR_ACTORS,  # noqa: F401
                           VIDOR_CATEGORIES, VIDOR_PREDICATES,
                           VIDOR_SPATIAL_PREDICATES, VidORAnnotationError)
from .flow import (dequantize_flow, extract_flow_dataset,  # noqa: F401
                   extract_video_flow, load_flow_frames, quantize_flow)
