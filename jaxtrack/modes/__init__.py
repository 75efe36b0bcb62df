"""Mode runners: thin `run(config, workdir)` functions that compose the libraries; `launch.py --mode=NAME`.

Libraries never import this package. Each runner writes the workdir's config.json (`jaxtrack.workdir`), prints one
line per stage, its progress bars and its results.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# mode -> module under jaxtrack.modes with `run(config, workdir)`; imported only when used.
MODES = ("data", "train", "summarize", "eval", "track", "export", "bench", "quickstart", "convert", "compress")


def get(mode: str) -> Callable:
    """The `run(config, workdir)` of `mode`."""
    if mode not in MODES:
        raise KeyError(f"mode {mode!r} is not one of {list(MODES)}")
    return importlib.import_module(f"jaxtrack.modes.{mode}").run
