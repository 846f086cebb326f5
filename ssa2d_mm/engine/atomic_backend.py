"""A local file backend whose writes are atomic.

mmengine's ``LocalBackend.put`` opens the final path with ``'wb'`` and writes
into it: a process killed while a checkpoint is being written leaves a
truncated file under the checkpoint's own name, and, when that name is the
one ``last_checkpoint`` points to, nothing valid to resume from.
:class:`AtomicLocalBackend` writes to a temporary file in the same directory,
flushes it to disk and renames it over the final path with ``os.replace``
(atomic on POSIX and Windows), so a reader sees either the previous complete
file or the new complete file, never a partial one.

Select it with ``backend_args=dict(backend='atomic_local')`` wherever
mmengine takes ``backend_args`` (``CheckpointHook``,
``mmengine.runner.save_checkpoint``, ``mmengine.fileio.put``).
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

import mmengine
from mmengine.fileio import LocalBackend, register_backend

#: The name to use in ``backend_args=dict(backend=...)``.
ATOMIC_LOCAL_BACKEND = 'atomic_local'


def _default_file_mode() -> int:
    """The mode ``open(path, 'w')`` would give a new file (0o666 & ~umask).

    ``tempfile.mkstemp`` creates files with mode 0o600; the renamed file
    should have the permissions a plain write would have given it.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(dirname: str) -> None:
    """Flush a directory entry (the rename) to disk where the OS allows it."""
    try:
        fd = os.open(dirname, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicLocalBackend(LocalBackend):
    """Local storage backend that never leaves a partially written file.

    Reading, listing, removing and copying are :class:`LocalBackend`'s;
    :meth:`put` and :meth:`put_text` write to ``.<name>.<random>.tmp`` in
    the target directory, ``fsync`` it, and ``os.replace`` it over
    ``filepath``. If the write fails (an exception, a full disk) the
    temporary file is removed and ``filepath`` keeps its previous content; if
    the process is killed, at worst a stray ``.tmp`` file remains next to an
    intact ``filepath``.

    Examples:
        >>> from mmengine.fileio import get_file_backend
        >>> backend = get_file_backend(
        ...     'work_dirs/epoch_1.pth',
        ...     backend_args=dict(backend='atomic_local'))
        >>> backend.put(b'checkpoint bytes', 'work_dirs/epoch_1.pth')
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically.

        Args:
            obj (bytes): Data to be written.
            filepath (str or Path): Path to write data. Its directory is
                created if missing.
        """
        filepath = str(filepath)
        dirname = osp.dirname(osp.abspath(filepath))
        mmengine.mkdir_or_exist(dirname)
        fd, tmp_path = tempfile.mkstemp(
            dir=dirname, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp_path, _default_file_mode())
            os.replace(tmp_path, filepath)
        except BaseException:
            # Also on KeyboardInterrupt: the temporary file is ours to remove.
            if osp.exists(tmp_path):
                os.remove(tmp_path)
            raise
        _fsync_dir(dirname)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): Text to be written.
            filepath (str or Path): Path to write text.
            encoding (str): The encoding of the text. Defaults to 'utf-8'.
        """
        self.put(obj.encode(encoding), filepath)


# force=True: re-importing the module (e.g. importlib.reload) re-registers.
register_backend(ATOMIC_LOCAL_BACKEND, AtomicLocalBackend, force=True)
