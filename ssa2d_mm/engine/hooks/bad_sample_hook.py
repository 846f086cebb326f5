"""Report the bad training samples that datasets skipped."""
from typing import List

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner.base_loop import BaseLoop


def find_bad_sample_counters(dataset) -> List:
    """The ``bad_sample_counter`` of a dataset and of the datasets it wraps.

    Looks through mmengine's wrappers (``ConcatDataset.datasets``,
    ``RepeatDataset.dataset``, ``ClassBalancedDataset.dataset``).

    Args:
        dataset: A dataset, possibly wrapped.

    Returns:
        list: The distinct counters found (objects with a ``value``).
    """
    found, stack, seen = [], [dataset], set()
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        counter = getattr(obj, 'bad_sample_counter', None)
        if counter is not None and all(c is not counter for c in found):
            found.append(counter)
        stack.append(getattr(obj, 'dataset', None))
        stack.extend(getattr(obj, 'datasets', None) or [])
    return found


@HOOKS.register_module()
class BadSampleHook(Hook):
    """Log how many training samples were skipped as bad, each epoch and in
    total at the end of training.

    Datasets built with ``skip_bad_samples=True`` (e.g. ``A2DDataset``)
    replace a sample whose files are bad by another one and count it in a
    ``bad_sample_counter`` shared by the dataloader workers; each skip is
    logged with its file and problem when it happens. This hook puts the
    counts in the run's log, and in the message hub as
    ``train/bad_samples`` (total so far).

    Example:
        >>> custom_hooks = [dict(type='BadSampleHook')]
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self._last_total = 0

    def _total(self, runner) -> int:
        # Only a built train loop: never build one (e.g. in a test run).
        loop = getattr(runner, '_train_loop', None)
        if not isinstance(loop, BaseLoop):
            return -1
        counters = find_bad_sample_counters(loop.dataloader.dataset)
        if not counters:
            return -1
        return sum(c.value for c in counters)

    def before_train(self, runner) -> None:
        """Remember the count at the start (a resumed dataset may have one).

        Args:
            runner (Runner): The runner.
        """
        self._last_total = max(self._total(runner), 0)

    def after_train_epoch(self, runner) -> None:
        """Log the samples skipped during this epoch.

        Args:
            runner (Runner): The runner.
        """
        total = self._total(runner)
        if total < 0:
            return
        runner.message_hub.update_info('train/bad_samples', total)
        runner.logger.info(f'Epoch {runner.epoch + 1}: skipped '
                           f'{total - self._last_total} bad training samples '
                           f'({total} in total)')
        self._last_total = total

    def after_train(self, runner) -> None:
        """Log the total number of skipped samples.

        Args:
            runner (Runner): The runner.
        """
        total = self._total(runner)
        if total < 0:
            return
        runner.message_hub.update_info('train/bad_samples', total)
        runner.logger.info(f'Training skipped {total} bad samples in total')
