"""Files and folders that hold state are private to the daemon's user.

Session records, upstream handles, minted tokens and TLS keys are secrets in
all but name, so the state directory is ``0700`` and every state file ``0600``,
whatever the process umask. A folder or file that already exists with looser
permissions is tightened (and the change logged), never loosened.

Example::

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> oct(private_dir(root / "state").stat().st_mode & 0o777)
    '0o700'
    >>> oct(private_file(root / "state" / "live.db").stat().st_mode & 0o777)
    '0o600'
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from livesvc.logs import get_logger

__all__ = ["DIR_MODE", "FILE_MODE", "private_dir", "private_file"]

log = get_logger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) as ``0700``; tighten it if it is looser."""
    folder = Path(path)
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(folder, DIR_MODE)
    return folder


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty as ``0600`` if missing (its folder ``0700``); tighten it if looser."""
    file = Path(path)
    private_dir(file.parent)
    fd = os.open(file, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(fd)
    _tighten(file, FILE_MODE)
    return file


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        path.chmod(mode)
        log.warning("state.permissions_tightened", path=str(path), was=oct(current), now=oct(mode))
