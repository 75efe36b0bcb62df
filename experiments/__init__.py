"""Experiment configs by name: `experiments/<name>.py` with `get_config() -> ConfigDict` and a docstring whose
first line describes it. `python launch.py --list_experiments` lists them."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

DIR = Path(__file__).parent


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(DIR)]) if not m.name.startswith("_"))


def describe(name: str) -> str:
    doc = importlib.import_module(f"experiments.{name}").__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def path(name: str) -> Path:
    if name not in names():
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(names())} (see --list_experiments)")
    return DIR / f"{name}.py"
