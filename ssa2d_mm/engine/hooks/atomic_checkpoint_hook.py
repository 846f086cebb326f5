"""A ``CheckpointHook`` that a kill at any moment cannot leave unresumable."""
import os
import os.path as osp
import re
from typing import Optional

from mmaction.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.fileio.io import _parse_uri_prefix
from mmengine.hooks import CheckpointHook

from ..atomic_backend import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with crash-safe saving.

    mmengine 0.10.7's hook has three windows in which a killed process
    leaves ``--resume`` nothing usable; this subclass closes them and keeps
    every argument, file name and message-hub key of the parent:

    1. The checkpoint is written in place, through a file backend that opens
       the final path with ``'wb'``. With ``save_best``, the hook rewrites
       the very file ``last_checkpoint`` names after each validation (to
       store the new best score): a kill then truncates the checkpoint that
       auto-resume would load. Here local checkpoints default to
       :class:`~ssa2d_mm.engine.AtomicLocalBackend` (temporary file, fsync,
       ``os.replace``) when neither ``backend_args`` nor ``file_client_args``
       is given.
    2. ``work_dir/last_checkpoint`` (read by ``--resume`` without a path) is
       rewritten with a plain ``open(..., 'w')``, not through the backend: a
       kill between truncation and write leaves it empty and auto-resume
       then fails on the path ``''``. Here it goes through
       :class:`~ssa2d_mm.engine.AtomicLocalBackend` too.
    3. With ``max_keep_ckpts`` set, the outdated checkpoint is deleted
       *before* the new one is written (with ``max_keep_ckpts=1`` a kill
       during saving leaves no checkpoint at all). Here it is deleted after
       the new checkpoint and ``last_checkpoint`` are in place.

    A run killed while saving leaves a temporary file
    (``.epoch_3.pth.<random>.tmp``) next to the intact checkpoints; the next
    run removes such files of this hook when training starts.

    Args:
        **kwargs: The arguments of :class:`mmengine.hooks.CheckpointHook`.
            ``backend_args`` defaults to ``dict(backend='atomic_local')``
            for a local ``out_dir``.
    """

    def before_train(self, runner) -> None:
        """Choose the atomic backend for a local ``out_dir``, then set up as
        the parent does.

        Args:
            runner (Runner): The runner of the training process.
        """
        out_dir: Optional[str] = self.out_dir or runner.work_dir
        if (self.backend_args is None and self.file_client_args is None
                and _parse_uri_prefix(out_dir) == ''):
            self.backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)
        super().before_train(runner)
        if is_main_process():
            self._remove_stale_temporaries(runner)

    def _remove_stale_temporaries(self, runner) -> None:
        """Delete what an interrupted :class:`AtomicLocalBackend` write of
        this hook left (local folders only)."""
        name = re.escape(self.filename_tmpl).replace(r'\{\}', r'\d+')
        folders = [(runner.work_dir, re.escape('last_checkpoint'))]
        if _parse_uri_prefix(self.out_dir) == '':
            folders.append((self.out_dir, name))
        for folder, pattern in folders:
            if not osp.isdir(folder):
                continue
            stale = re.compile(rf'^\.{pattern}\.[A-Za-z0-9_]+\.tmp$')
            for file in sorted(os.listdir(folder)):
                if stale.match(file):
                    os.remove(osp.join(folder, file))
                    runner.logger.warning(
                        f'Removed {osp.join(folder, file)}, left by a run '
                        'interrupted while saving.')

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """Save the checkpoint of ``step``, point ``last_checkpoint`` at it,
        then drop the checkpoint that fell out of ``max_keep_ckpts``.

        The parent's method, reordered (see the class docstring).

        Args:
            runner (Runner): The runner of the training process.
            step (int): The epoch or iteration the checkpoint is named by.
            meta (dict): ``epoch`` and ``iter`` stored in the checkpoint.
        """
        outdated = None
        if self.max_keep_ckpts > 0 and not (len(self.keep_ckpt_ids) > 0 and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            # Updated before saving, as upstream does, so that the saved
            # message hub already lists the checkpoints kept after this one.
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)

        # Model parallel-like training pulls sharded states from all ranks
        # inside save_checkpoint; the bookkeeping below is the main rank's.
        if not is_main_process():
            return

        # work_dir is always local, as in the parent.
        AtomicLocalBackend().put_text(
            str(self.last_ckpt), osp.join(runner.work_dir, 'last_checkpoint'))

        if outdated is not None:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                # checkpoints saved by deepspeed are directories
                self.file_backend.rmtree(path)
