"""Check an A2D ``Release`` folder against its ``videoset.csv``.

Counts, per split, the videos and annotated frames the list announces and
those present, and lists every problem with its file: missing video,
unreadable video, missing or unreadable annotation, label id outside the
A2D table, annotation size different from the video frame, annotated frame
beyond the video's end. The checks are the ones the data pipeline runs
(``ssa2d_mm.datasets.transforms.loading``), so what passes here loads.

Example:
    python tools/data/a2d_summary.py --data-root data/a2d/Release \
        --out a2d_summary.json
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

from mmengine.utils import ProgressBar

from ssa2d_mm.datasets.a2d_dataset import (ANN_EXTENSIONS,
                                           list_annotated_frames,
                                           load_videoset)
from ssa2d_mm.datasets.errors import DataFileError
from ssa2d_mm.datasets.transforms.loading import (check_annotation_size,
                                                  probe_video,
                                                  read_a2d_annotation)


def summarize(data_root: str,
              label_source: str = 'mat',
              ann_file: str = 'videoset.csv',
              video_dir: str = 'clips320H',
              ann_dir: Optional[str] = None,
              progress: bool = False) -> Dict:
    """Summarize and check an A2D release.

    Args:
        data_root (str): The ``Release`` folder.
        label_source (str): ``'mat'`` or ``'col'`` annotations.
        ann_file (str): Video list, relative to ``data_root``.
        video_dir (str): Video folder, relative to ``data_root``.
        ann_dir (str, optional): Annotation folder, relative to
            ``data_root``; defaults to ``Annotations/<label_source>``.
        progress (bool): Show a progress bar on stderr.

    Returns:
        dict: ``{"train": {...}, "test": {...}, "problems": [...]}``; each
        split has ``videos_listed``, ``videos_found``,
        ``annotated_frames_listed``, ``annotations_found``; each problem is
        ``{"file", "problem"}``.

    Raises:
        DataFileError: if the video list itself is missing or malformed.
    """
    ann_dir = ann_dir or osp.join('Annotations', label_source)
    rows = load_videoset(osp.join(data_root, ann_file))
    summary: Dict = {
        split:
        dict(
            videos_listed=0,
            videos_found=0,
            annotated_frames_listed=0,
            annotations_found=0)
        for split in ('train', 'test')
    }
    problems: List[Dict[str, str]] = []

    def report(err: DataFileError) -> None:
        problems.append(dict(file=err.file, problem=err.problem))

    bar = ProgressBar(len(rows), file=sys.stderr) if progress else None
    for row in rows:
        counts = summary['test' if row['test'] else 'train']
        vid = row['vid']
        counts['videos_listed'] += 1
        counts['annotated_frames_listed'] += row['anno']

        video = osp.join(data_root, video_dir, vid + '.mp4')
        total = frame_shape = None
        if not osp.isfile(video):
            report(
                DataFileError(
                    video, 'video file not found (listed in '
                    f'{ann_file})'))
        else:
            counts['videos_found'] += 1
            try:
                total, frame_shape = probe_video(video)
            except DataFileError as err:
                report(err)

        folder = osp.join(data_root, ann_dir, vid)
        fids = list_annotated_frames(folder, label_source)
        counts['annotations_found'] += len(fids)
        if len(fids) != row['anno']:
            what = ('annotation folder not found' if not osp.isdir(folder) else
                    f'{len(fids)} {ANN_EXTENSIONS[label_source]} annotations '
                    'found')
            report(
                DataFileError(
                    folder,
                    f'{ann_file} lists {row["anno"]} annotated frames, '
                    f'{what}'))
        for fid in fids:
            file = osp.join(folder, f'{fid:05d}{ANN_EXTENSIONS[label_source]}')
            try:
                label_map = read_a2d_annotation(file, label_source)
                if frame_shape is not None:
                    check_annotation_size(file, label_map.shape, frame_shape)
                if total is not None and fid > total:
                    raise DataFileError(
                        file, f'annotated frame {fid:05d} is beyond the end '
                        f'of {video} ({total} frames)')
            except DataFileError as err:
                report(err)
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    summary['problems'] = problems
    return summary


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Count and check the videos and annotations of an A2D '
        'Release folder against its videoset.csv.')
    parser.add_argument(
        '--data-root', required=True, help='the Release folder')
    parser.add_argument(
        '--label-source',
        choices=('mat', 'col'),
        default='mat',
        help='annotations to check')
    parser.add_argument(
        '--out', help='write the JSON summary here '
        '(default: print it)')
    parser.add_argument(
        '--progress',
        action='store_true',
        help='show a progress bar on stderr')
    return parser.parse_args(argv)


def main(argv=None) -> Dict:
    args = parse_args(argv)
    summary = summarize(
        args.data_root, args.label_source, progress=args.progress)
    text = json.dumps(summary, indent=2)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')
        print(f'{len(summary["problems"])} problems; summary written to '
              f'{args.out}')
    else:
        print(text)
    return summary


if __name__ == '__main__':
    main()
