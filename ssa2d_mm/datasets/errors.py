"""The error raised for bad dataset files, and the counter of skipped ones.

A bad file (a corrupt video, a truncated ``.mat``, an unknown label id, an
annotation whose size differs from the video frame) raises
:class:`DataFileError`, whose message names the file and the problem.
Datasets built with ``skip_bad_samples=True`` catch it, count the sample in a
:class:`BadSampleCounter` and fetch another one; ``BadSampleHook`` reports the
count in the run's log.
"""
import multiprocessing
from typing import Optional


class DataFileError(ValueError):
    """A dataset file that cannot be used, and why.

    Args:
        file (str): The offending file (a video, an annotation, a list).
        problem (str): What is wrong with it, in words.

    Attributes:
        file (str): As given.
        problem (str): As given.
    """

    def __init__(self, file: str, problem: str) -> None:
        self.file = str(file)
        self.problem = problem
        super().__init__(f'{self.file}: {problem}')

    def __reduce__(self):
        # Keep (file, problem) across dataloader worker processes: the
        # default reduction would call __init__ with the message only.
        return self.__class__, (self.file, self.problem)


class BadSampleCounter:
    """A count of skipped samples shared by every dataloader worker.

    Workers are separate processes, so a plain attribute incremented in a
    worker never reaches the main process where hooks read it; the count
    lives in shared memory (``multiprocessing.Value``) instead, created with
    the dataset before workers start and inherited by them.

    ``copy.deepcopy`` (mmengine's ``BaseDataset.get_subset`` deep-copies
    every attribute) returns the same counter: a shared-memory value cannot
    be deep-copied, and a subset's skips belong to the same run.

    Args:
        value (int): Initial count. Defaults to 0.
    """

    def __init__(self, value: int = 0) -> None:
        self._value = multiprocessing.Value('q', value)

    @property
    def value(self) -> int:
        """int: The current count."""
        return int(self._value.value)

    def increment(self, n: int = 1) -> int:
        """Add ``n`` and return the new count.

        Args:
            n (int): How many samples to add. Defaults to 1.

        Returns:
            int: The count after the increment.
        """
        with self._value.get_lock():
            self._value.value += n
            return int(self._value.value)

    def __deepcopy__(self, memo: Optional[dict] = None) -> 'BadSampleCounter':
        return self

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(value={self.value})'
