from .inference import (build_clip_pipeline, inference_video, init_model,
                        iter_video_predictions, plan_clips)

__all__ = [
    'init_model', 'inference_video', 'iter_video_predictions',
    'build_clip_pipeline', 'plan_clips'
]
