"""Write a synthetic A2D release (real on-disk formats) for tests and demos.

Example:
    python tools/data/make_synthetic_a2d.py data/a2d_synthetic --videos 64
    # -> data/a2d_synthetic/Release/{README,videoset.csv,clips320H,...}
    #    data/a2d_synthetic/synthetic_a2d_gt.json
"""
import argparse
import time

from ssa2d_mm.datasets.synthetic import make_synthetic_a2d


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a synthetic A2D Release/ tree (videoset.csv, '
        'clips320H/*.mp4, Annotations/mat v7.3, Annotations/col PNG).')
    parser.add_argument('out', help='output folder; Release/ is made inside')
    parser.add_argument(
        '--videos', type=int, default=64, help='number of videos (default 64)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--height',
        type=int,
        default=96,
        help='frame height, even (default 96)')
    parser.add_argument(
        '--width',
        type=int,
        default=128,
        help='frame width, even (default 128)')
    parser.add_argument(
        '--frames', type=int, default=32, help='frames per video (default 32)')
    parser.add_argument(
        '--test-fraction',
        type=float,
        default=0.25,
        help='share of test videos (default 0.25)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    gt = make_synthetic_a2d(
        args.out,
        num_videos=args.videos,
        seed=args.seed,
        height=args.height,
        width=args.width,
        num_frames=args.frames,
        test_fraction=args.test_fraction)
    seconds = time.perf_counter() - start
    splits = {
        s: [v for v in gt['videos'] if v['split'] == s]
        for s in ('train', 'test')
    }
    counts = ', '.join(
        f'{s}: {len(vs)} videos, {sum(len(v["labels"]) for v in vs)} '
        'annotated frames' for s, vs in splits.items())
    print(f'Wrote {gt["release_dir"]} ({counts}) in {seconds:.1f} s')


if __name__ == '__main__':
    main()
