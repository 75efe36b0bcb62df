"""Tracking benchmarks by name (`config.eval.benchmark`): how to load their videos and write their results.

Each loader takes the `eval` config section: `data_root` (the dataset folder, not for synthetic), `max_videos`
(0: all), and for synthetic `num_videos`, `seed` (the stream) and `synthetic` (SyntheticConfig overrides).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from jaxtrack.data import synthetic
from jaxtrack.data.readers import got10k, lasot, otb, vot
from jaxtrack.eval.vot import STACK_INTERVALS


@dataclasses.dataclass(frozen=True)
class Dataset:
    load: Callable  # (eval config section) -> list[Video]
    layout: str  # result-file layout (`benchmark.write_result`)
    one_based: bool  # result boxes 1-based (the dataset's own ground-truth convention)
    scored: bool = True  # False: no public ground truth past frame 0 (results + submission archive only)
    vot: bool = False  # always run the VOT re-initialisation protocol too
    eao_interval: tuple[int, int] | None = None  # the stack's EAO interval; None: estimated (`vot.eao_interval`)


def _synthetic(cfg):
    options = synthetic.SyntheticConfig(**cfg.synthetic.to_dict())
    return synthetic.make_videos(int(cfg.num_videos), seed=int(cfg.seed), config=options, split="test")


def _folder(reader, cfg):
    if not cfg.data_root:
        raise ValueError(f"benchmark {cfg.benchmark!r} needs config.eval.data_root (the dataset folder)")
    videos = reader(cfg.data_root)
    return videos[:cfg.max_videos] if cfg.max_videos else videos


DATASETS = {
    "synthetic": Dataset(_synthetic, "otb", False),
    "otb": Dataset(functools.partial(_folder, otb.read_otb), "otb", True),
    "uav123": Dataset(functools.partial(_folder, otb.read_otb), "otb", True),  # OTB-style folders (img/, gt)
    "lasot": Dataset(functools.partial(_folder, lasot.read_lasot), "otb", True),
    "got10k_val": Dataset(functools.partial(_folder, lambda root: got10k.read_got10k(root, "val")), "got10k", False),
    "got10k_test": Dataset(functools.partial(_folder, lambda root: got10k.read_got10k(root, "test")), "got10k", False,
                           scored=False),
    # VOT short-term: one-pass metrics and the re-initialisation protocol on the axis-aligned boxes of the regions;
    # "vot" estimates the EAO interval from the sequence lengths, "vot2015".."vot2019" take their stack's interval
    "vot": Dataset(functools.partial(_folder, vot.read_vot), "otb", False, vot=True),
    **{stack: Dataset(functools.partial(_folder, vot.read_vot), "otb", False, vot=True, eao_interval=interval)
       for stack, interval in STACK_INTERVALS.items()},
}


def get(name: str) -> Dataset:
    if name not in DATASETS:
        raise KeyError(f"config.eval.benchmark {name!r} is not registered; expected one of {sorted(DATASETS)}")
    return DATASETS[name]
