"""Files that are never half-written: every result, report and config goes through `write_atomic`."""

from __future__ import annotations

import os
import tempfile

from etils import epath


def write_atomic(path: epath.PathLike, data: bytes) -> None:
    """Writes `data` to `path` through a temporary file in the same folder and a rename."""
    path = epath.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
