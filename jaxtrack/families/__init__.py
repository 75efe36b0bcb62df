"""Tracker families by name: each is declared once (model, training task, tracker) in its own file.

    family = families.get("siamrpnpp_acm")
    model = family.build(**config.model.kwargs)                  # models.siamese.SiameseTracker
    task = family.make_task(config)                              # train.tasks: targets + loss (a trainer Task)
    settings = family.tracker_config("imagenet", {"instance_size": 127})   # track.siamese tracker settings

Adding a tracker: a file here that declares its `Family` objects in `FAMILIES`, and that module in `_MODULES`.
"""

from __future__ import annotations

from jaxtrack.families import dat, siamban, siamfc, siammask, siamrpn
from jaxtrack.families.family import Family

_MODULES = (siamfc, siamrpn, siamban, siammask)
REGISTRY: dict[str, Family] = {f.name: f for m in _MODULES for f in m.FAMILIES}  # Siamese: pairs, Family.make_task
# tracking by detection (DAT): trained by their own mode runner (jaxtrack.modes.dat_train), found by `get` only
BY_DETECTION: dict[str, Family] = {f.name: f for f in dat.FAMILIES}


def names(*, evaluated: bool | None = None) -> list[str]:
    """The Siamese families' names in declaration order (`evaluated=True`: those the synthetic evaluation lists)."""
    return [n for n, f in REGISTRY.items() if evaluated is None or f.evaluated == evaluated]


def get(name: str) -> Family:
    family = REGISTRY.get(name) or BY_DETECTION.get(name)
    if family is None:
        raise KeyError(f"model.name {name!r} is not a registered tracker family; expected one of "
                       f"{names() + list(BY_DETECTION)}")
    return family


__all__ = ["BY_DETECTION", "REGISTRY", "Family", "get", "names"]
