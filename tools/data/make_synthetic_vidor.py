"""Write a tiny VidOR-format dataset (mp4 videos + JSON annotations).

Example::

    python tools/data/make_synthetic_vidor.py data/vidor_synth --seed 0
"""
import argparse
from typing import List, Optional

from ssa2d_mm.datasets.synthetic.vidor import make_synthetic_vidor


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate a small synthetic dataset in VidOR format.')
    parser.add_argument('out_dir', help='output root (annotation/, video/)')
    parser.add_argument('--num-train', type=int, default=3)
    parser.add_argument('--num-val', type=int, default=2)
    parser.add_argument('--frames', type=int, default=24)
    parser.add_argument('--width', type=int, default=64)
    parser.add_argument('--height', type=int, default=48)
    parser.add_argument('--fps', type=float, default=15.0)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Run the command line; ``argv`` defaults to ``sys.argv[1:]``."""
    args = parse_args(argv)
    written = make_synthetic_vidor(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        num_frames=args.frames,
        width=args.width,
        height=args.height,
        fps=args.fps,
        seed=args.seed)
    for split, files in written.items():
        print(f'{split}: {len(files)} videos')
    print(f'written under {args.out_dir}')


if __name__ == '__main__':
    main()
