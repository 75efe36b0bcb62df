"""A quiet terminal: library logs (absl, orbax, TFDS, Python warnings) go to `<workdir>/log.txt`.

What a user needs on the terminal (one line per stage, progress bars, result tables) is printed by the mode
runners; everything logged goes to the file. `launch.py --verbosity=1` keeps the logs on stderr instead.
"""

from __future__ import annotations

import logging as py_logging
import warnings

from absl import logging
from etils import epath

LOG = "log.txt"


def to_file(workdir: epath.PathLike) -> epath.Path:
    """Sends every log record (INFO and up) and warning to `<workdir>/log.txt` (appended); returns its path."""
    path = epath.Path(workdir) / LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.get_absl_handler()
    handler.python_handler.stream = open(path, "a", buffering=1)
    logging.set_verbosity(logging.INFO)
    logging.set_stderrthreshold(logging.FATAL)
    py_logging.captureWarnings(True)
    warnings.simplefilter("default")
    return path
