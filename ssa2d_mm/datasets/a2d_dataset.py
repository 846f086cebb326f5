"""The A2D dataset (Xu et al., CVPR 2015), read from its release layout."""
import csv
import os
import os.path as osp
import re
from typing import Callable, List, Optional, Union

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmengine.logging import MMLogger

from .a2d_labels import ACTIONS, ACTORS, COLORS, VALID_JOINT_IDS
from .errors import BadSampleCounter, DataFileError

#: ``videoset.csv`` columns, in order (the file has no header).
VIDEOSET_COLUMNS = ('vid', 'label', 'timestart', 'timeend', 'height', 'width',
                    'frames', 'anno', 'test')
_INT_COLUMNS = ('label', 'height', 'width', 'frames', 'anno', 'test')
_SPLITS = {'train': 0, 'test': 1}
#: Annotation file extension per label source.
ANN_EXTENSIONS = {'mat': '.mat', 'col': '.png'}
_FRAME_FILE = re.compile(r'^(\d{5})\.(mat|png)$')


def _number(text: str, integer: bool) -> Union[int, float]:
    value = float(text)
    if integer:
        if value != int(value):
            raise ValueError(f'{text!r} is not an integer')
        return int(value)
    return value


def load_videoset(file: str) -> List[dict]:
    """Parse A2D's ``videoset.csv``: one row per video, 9 columns, no header.

    Args:
        file (str): Path of ``videoset.csv``.

    Returns:
        list[dict]: One dict per row with the keys of
        :data:`VIDEOSET_COLUMNS`: ``vid`` (str), ``timestart``/``timeend``
        (float), the others int; ``test`` is 0 (train) or 1 (test).

    Raises:
        DataFileError: naming the file and the line of a malformed row, or
            the file when it is missing.
    """
    if not osp.isfile(file):
        raise DataFileError(file, 'video list not found')
    rows, seen = [], {}
    with open(file, newline='') as f:
        for lineno, fields in enumerate(csv.reader(f), start=1):
            if not fields or all(not x.strip() for x in fields):
                continue
            where = f'line {lineno}'
            if len(fields) != len(VIDEOSET_COLUMNS):
                raise DataFileError(
                    file, f'{where}: expected {len(VIDEOSET_COLUMNS)} '
                    f'comma-separated columns ({", ".join(VIDEOSET_COLUMNS)}'
                    f'), got {len(fields)}: {",".join(fields)!r}')
            row = dict(vid=fields[0].strip())
            if not row['vid'] or re.search(r'[\s/\\]', row['vid']):
                raise DataFileError(
                    file, f'{where}: invalid video id {fields[0]!r}')
            for name, text in zip(VIDEOSET_COLUMNS[1:], fields[1:]):
                try:
                    row[name] = _number(text.strip(), name in _INT_COLUMNS)
                except (ValueError, OverflowError):
                    raise DataFileError(
                        file, f'{where}: column {name!r} must be a number, '
                        f'got {text!r}') from None
            if row['test'] not in (0, 1):
                raise DataFileError(
                    file, f"{where}: column 'test' must be 0 (train) or 1 "
                    f"(test), got {row['test']}")
            if row['vid'] in seen:
                raise DataFileError(
                    file, f"{where}: video {row['vid']} is already listed on "
                    f"line {seen[row['vid']]}")
            seen[row['vid']] = lineno
            rows.append(row)
    return rows


def list_annotated_frames(ann_dir: str,
                          label_source: str = 'mat') -> List[int]:
    """The 1-based ids of the annotation files found in one video's folder.

    Args:
        ann_dir (str): ``Annotations/mat/<vid>`` or ``Annotations/col/<vid>``.
        label_source (str): ``'mat'`` (``*.mat``) or ``'col'`` (``*.png``).

    Returns:
        list[int]: Sorted frame ids of the ``<fid>.mat`` / ``<fid>.png``
        files, empty if the folder does not exist.
    """
    if not osp.isdir(ann_dir):
        return []
    ext = ANN_EXTENSIONS[label_source]
    fids = []
    for name in os.listdir(ann_dir):
        match = _FRAME_FILE.match(name)
        if match and name.endswith(ext):
            fids.append(int(match.group(1)))
    return sorted(fids)


@DATASETS.register_module()
class A2DDataset(BaseActionDataset):
    """A2D actor-action segmentation: one sample per annotated frame.

    Reads the release layout (``../shared/docs/DATASETS.md``): the video list
    ``videoset.csv``, the videos ``clips320H/<vid>.mp4`` and the per-frame
    annotations ``Annotations/mat/<vid>/<fid>.mat`` (or ``Annotations/col``
    PNGs). Each annotation file found on disk for a video of ``split``
    becomes one data entry; the pipeline decodes a clip around it.

    Data entry keys: ``filename`` (the mp4), ``video_id``, ``frame_id``
    (1-based, as in ``00001.mat``), ``ann_file``, ``label_source``,
    ``split``, ``video_label`` (the video-level joint id of the list),
    ``num_frames_listed`` (``frames`` column).

    Args:
        ann_file (str): ``videoset.csv``, relative to ``data_root`` unless
            absolute. Defaults to ``'videoset.csv'``.
        pipeline (list[dict | Callable]): Transforms, e.g. ``VideoInit``,
            ``SampleAnnotatedClip``, ``VideoDecode``, ``LoadA2DAnnotation``.
        data_root (str): The ``Release`` folder. Defaults to ``''``.
        data_prefix (dict, optional): ``video`` (mp4 folder) and ``ann``
            (annotation folder), relative to ``data_root``. Defaults to
            ``dict(video='clips320H', ann='Annotations/mat')``, with
            ``ann='Annotations/col'`` for ``label_source='col'``.
        split (str): ``'train'`` (``test`` column 0) or ``'test'`` (1).
            Defaults to ``'train'``.
        label_source (str): ``'mat'`` (MATLAB files) or ``'col'`` (colour
            PNGs). Defaults to ``'mat'``.
        skip_bad_samples (bool): In training, a sample whose files raise
            :class:`~ssa2d_mm.datasets.DataFileError` is logged, counted in
            :attr:`num_bad_samples` and replaced by another one. In test mode
            the error is still raised (an evaluation must not silently drop
            frames). Defaults to False: the error propagates.
        test_mode (bool): Defaults to False.
        **kwargs: Other arguments of ``BaseActionDataset``.
    """

    METAINFO = dict(
        actor_classes=ACTORS,
        action_classes=ACTIONS,
        valid_joint_ids=VALID_JOINT_IDS,
        palette=COLORS,
        ignore_index=255)

    def __init__(self,
                 ann_file: str = 'videoset.csv',
                 pipeline: List[Union[dict, Callable]] = [],
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 split: str = 'train',
                 label_source: str = 'mat',
                 skip_bad_samples: bool = False,
                 test_mode: bool = False,
                 **kwargs) -> None:
        if split not in _SPLITS:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if label_source not in ANN_EXTENSIONS:
            raise ValueError(
                f"label_source must be 'mat' or 'col', got {label_source!r}")
        prefix = dict(
            video='clips320H',
            ann='Annotations/mat'
            if label_source == 'mat' else 'Annotations/col')
        prefix.update(data_prefix or {})
        self.split = split
        self.label_source = label_source
        self.skip_bad_samples = skip_bad_samples
        # Created before workers start, so they all share it.
        self.bad_sample_counter = BadSampleCounter()
        super().__init__(
            ann_file,
            pipeline=pipeline,
            data_root=data_root,
            data_prefix=prefix,
            test_mode=test_mode,
            **kwargs)

    @property
    def num_bad_samples(self) -> int:
        """int: Samples skipped so far, by every worker process."""
        return self.bad_sample_counter.value

    def load_data_list(self) -> List[dict]:
        """One entry per annotation file of the split's videos.

        Returns:
            list[dict]: The data entries (keys in the class docstring).
        """
        entries = []
        videos = [
            row for row in load_videoset(self.ann_file)
            if row['test'] == _SPLITS[self.split]
        ]
        missing = []
        ext = ANN_EXTENSIONS[self.label_source]
        for row in videos:
            vid = row['vid']
            ann_dir = osp.join(self.data_prefix['ann'], vid)
            fids = list_annotated_frames(ann_dir, self.label_source)
            if len(fids) != row['anno']:
                missing.append(vid)
            for fid in fids:
                entries.append(
                    dict(
                        filename=osp.join(self.data_prefix['video'],
                                          vid + '.mp4'),
                        video_id=vid,
                        frame_id=fid,
                        ann_file=osp.join(ann_dir, f'{fid:05d}{ext}'),
                        label_source=self.label_source,
                        split=self.split,
                        video_label=row['label'],
                        num_frames_listed=row['frames']))
        if missing:
            MMLogger.get_current_instance().warning(
                f'A2D {self.split}: {len(missing)} of {len(videos)} videos '
                f'have a number of {self.label_source} annotations in '
                f"{self.data_prefix['ann']} other than {self.ann_file} lists "
                f"(e.g. {', '.join(missing[:3])}); using the {len(entries)} "
                'annotated frames found. tools/data/a2d_summary.py lists them.'
            )
        return entries

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Run the pipeline on sample ``idx``, skipping a bad one if asked.

        With ``skip_bad_samples`` in training, a
        :class:`~ssa2d_mm.datasets.DataFileError` is logged and counted, and
        ``None`` is returned: mmengine's ``BaseDataset.__getitem__`` then
        draws another index (up to ``max_refetch`` times).

        Args:
            idx (int): Sample index.

        Returns:
            dict or None: The pipeline's output, None for a skipped sample.
        """
        try:
            return super().prepare_data(idx)
        except DataFileError as err:
            if not self.skip_bad_samples:
                raise
            logger = MMLogger.get_current_instance()
            if self.test_mode:
                logger.error(f'A2D {self.split}: bad sample {idx} in test '
                             f'mode, not skipped: {err.file}: {err.problem}')
                raise
            count = self.bad_sample_counter.increment()
            logger.warning(f'A2D {self.split}: skipped bad sample {idx} '
                           f'({count} so far): {err.file}: {err.problem}')
            return None
