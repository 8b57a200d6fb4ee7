"""Writing files so that a reader never sees half of one.

Every file the tool writes goes through here: a temporary file beside the
target, flushed to disk, then renamed over it, so a crash or a full disk
leaves the old file (or none), never a torn one. Private files (secrets,
credentials, keys, exports of personal data) are created 0600 from the first
byte rather than chmod-ed after the write, so there is no moment at which
another user could open them.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_binary(path: Path, *, private: bool = False) -> Iterator[IO[bytes]]:
    """A binary file that appears at ``path`` only if the block completes.

    ``private`` keeps the 0600 that ``mkstemp`` creates; otherwise the file
    gets the mode a plain ``open`` would (0666 less the umask).
    """
    folder = path.parent if str(path.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    temp = Path(name)
    try:
        if not private:
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def write_atomic(path: Path, data: str | bytes, *, private: bool = False) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_binary(path, private=private) as handle:
        handle.write(payload)


def write_private(path: Path, data: str | bytes) -> None:
    """A 0600 file, written atomically: for anything holding a secret."""
    write_atomic(path, data, private=True)


def write_private_json(path: Path, data: Any) -> None:
    """``data`` as indented, key-sorted JSON in a 0600 file, written atomically."""
    write_private(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _umask() -> int:
    # os.umask can only be read by setting it; set it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
