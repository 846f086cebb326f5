"""Segment the actors and actions of a video and write it with the labels
overlaid (official A2D colours, region contours and a legend).

Examples:
    python demo/demo_video.py video.mp4 CONFIG CHECKPOINT --out out.mp4
    python demo/demo_video.py video.mp4 CONFIG CHECKPOINT --out f.png \\
        --frame 40          # one frame only, as an image
"""
import argparse
import os.path as osp
import uuid
from typing import Optional

import cv2
import mmcv
import numpy as np
from mmaction.registry import VISUALIZERS
from mmengine.config import Config, DictAction
from mmengine.utils import ProgressBar, mkdir_or_exist

from ssa2d_mm.apis import init_model, iter_video_predictions
from ssa2d_mm.datasets.transforms.loading import probe_video

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Overlay SSA2D actor-action segmentations on a video')
    parser.add_argument('video', help='input video file')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        required=True,
        help='output video (.mp4), or an image (.png, .jpg) of the frame '
        '--frame')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--fps',
        type=float,
        default=None,
        help='frame rate of the output video (default: the input\'s)')
    parser.add_argument(
        '--frame',
        type=int,
        default=0,
        help='0-based frame written when --out is an image (default 0)')
    parser.add_argument(
        '--clip-len',
        type=int,
        default=None,
        help='frames per clip (default: the test pipeline\'s clip_len)')
    parser.add_argument(
        '--stride',
        type=int,
        default=None,
        help='frames between clip centres (default: clip_len // 2)')
    parser.add_argument(
        '--alpha', type=float, default=0.5, help='opacity of the labels')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


def video_fps(filename: str) -> Optional[float]:
    """Frame rate stored in a video file, None if it has none."""
    cap = cv2.VideoCapture(filename)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0
    finally:
        cap.release()
    return float(fps) if fps and np.isfinite(fps) and fps > 0 else None


def build_visualizer(cfg: Config, dataset_meta: Optional[dict], alpha: float):
    """The config's visualizer, without its backends (the demo writes the
    frames itself)."""
    vis_cfg = dict(cfg.get('visualizer') or dict(type='ActorActionVisualizer'))
    # A new name: the registry returns an existing instance for a known one
    # (with its old arguments).
    vis_cfg.update(
        name=f'ssa2d_demo_{uuid.uuid4().hex[:8]}',
        vis_backends=None,
        save_dir=None,
        alpha=alpha)
    visualizer = VISUALIZERS.build(vis_cfg)
    if not hasattr(visualizer, 'draw_frame'):
        raise TypeError(f'{cfg.filename}: the visualizer '
                        f'{type(visualizer).__name__} has no draw_frame')
    visualizer.dataset_meta = dataset_meta
    return visualizer


def main(argv=None) -> None:
    args = parse_args(argv)
    if not osp.isfile(args.video):
        raise FileNotFoundError(f'{args.video}: video file not found')
    to_image = args.out.lower().endswith(IMAGE_EXTENSIONS)
    if not to_image and not args.out.lower().endswith(('.mp4', '.avi')):
        raise ValueError(f'--out {args.out}: expected .mp4/.avi or an image '
                         f'({", ".join(IMAGE_EXTENSIONS)})')

    model = init_model(args.config, args.checkpoint, args.device,
                       args.cfg_options)
    visualizer = build_visualizer(model.cfg,
                                  getattr(model, 'dataset_meta', None),
                                  args.alpha)
    num_frames, (height, width) = probe_video(args.video)
    if to_image and not 0 <= args.frame < num_frames:
        raise ValueError(f'--frame {args.frame}: {args.video} has frames '
                         f'0..{num_frames - 1}')
    mkdir_or_exist(osp.dirname(osp.abspath(args.out)))

    writer = None
    if not to_image:
        fps = args.fps or video_fps(args.video) or 25.0
        fourcc = 'XVID' if args.out.lower().endswith('.avi') else 'mp4v'
        writer = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*fourcc),
                                 fps, (width, height))
        if not writer.isOpened():
            raise RuntimeError(f'{args.out}: OpenCV cannot write this video '
                               f'(fourcc {fourcc})')
    progress = ProgressBar(args.frame + 1 if to_image else num_frames)
    try:
        for index, frame, preds in iter_video_predictions(
                model, args.video, args.clip_len, args.stride):
            drawn = visualizer.draw_frame(frame,
                                          preds['pred_actor_seg'].numpy(),
                                          preds['pred_action_seg'].numpy())
            progress.update()
            if to_image:
                if index == args.frame:
                    mmcv.imwrite(mmcv.rgb2bgr(drawn), args.out)
                    break
            else:
                writer.write(mmcv.rgb2bgr(drawn))
    finally:
        if writer is not None:
            writer.release()
    print(f'\nWrote {args.out}')


if __name__ == '__main__':
    main()
