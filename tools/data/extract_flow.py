"""Extract dense optical flow of a dataset's videos (RGB+OF setting).

Writes mmaction2's flow frames (``<out>/<vid>/flow_x_00001.jpg``, ...) and a
completion marker per video; a rerun skips finished videos. The storage and
frame-count conventions are in ``ssa2d_mm/datasets/flow.py``.

Examples::

    # A2D: Release/clips320H/<vid>.mp4 -> Release/flow/<vid>/
    python tools/data/extract_flow.py --data-root Release --out Release/flow \
        --method dis --workers 8
    # VidOR: video/<XXXX>/<id>.mp4 -> flow/<XXXX>/<id>/
    python tools/data/extract_flow.py --data-root vidor-dataset \
        --videos 'video/*/*.mp4' --out vidor-dataset/flow
"""
import argparse
import json
from typing import List, Optional

from ssa2d_mm.datasets.flow import FLOW_METHODS, extract_flow_dataset


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Extract dense optical flow (mmaction2 flow frames).')
    parser.add_argument('--data-root', required=True, help='dataset root')
    parser.add_argument('--out', required=True, help='flow output root')
    parser.add_argument(
        '--videos',
        default='clips320H/*.mp4',
        help="glob of the videos relative to --data-root (A2D: "
        "'clips320H/*.mp4', VidOR: 'video/*/*.mp4')")
    parser.add_argument(
        '--method',
        default='dis',
        choices=FLOW_METHODS,
        help='OpenCV flow: DIS (fast), Farneback, or TV-L1 (cv2.optflow)')
    parser.add_argument(
        '--workers', type=int, default=1, help='parallel processes')
    parser.add_argument(
        '--bound',
        type=float,
        default=20.,
        help='flow in pixels is clipped to [-bound, bound] and quantised')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Run the command line; ``argv`` defaults to ``sys.argv[1:]``."""
    args = parse_args(argv)
    summary = extract_flow_dataset(
        args.data_root,
        args.out,
        videos=args.videos,
        method=args.method,
        bound=args.bound,
        workers=args.workers)
    print()
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
