"""Evaluate trackers on the synthetic test split: CSRT, KCF and a static box, plus trained jaxtrack checkpoints.

    python launch.py --experiment=eval_synthetic --workdir=runs/eval_synthetic

`models` lists every `<name>_synthetic` experiment trained under `runs/` (a `runs/<name>_synthetic/checkpoints`
folder, as `launch.py --experiment=<name>_synthetic --workdir=runs/<name>_synthetic --mode=train` writes), each with
the build kwargs and input normalisation of its workdir's config.json and the tracker settings (`track`: crop
sizes, tuned window / penalty / lr) of the experiment file as it is now (they do not change training). Paths are
relative to the working directory (the repository root).

64 test videos (the training configs' TFDS test split holds 16): CSRT's success AUC is 0.510 on the first 16 test
videos, 0.415 on 64; 0.388 on 40 val videos, 0.423 on 100. Differences of a few hundredths need >= 64 videos.
"""

import importlib
import os

from ml_collections import ConfigDict

TRACKERS = ("siamfc", "siamrpn", "siamrpnpp", "siamrpnpp_acm", "siamban", "siamban_acm")


def trained_models(root: str = "runs") -> list[dict]:
    """Model entries (`jaxtrack.eval.run` format) of the `TRACKERS` with a checkpoint under `root`."""
    return [{"name": n, "workdir": os.path.join(root, f"{n}_synthetic"), "track": _track(n)} for n in TRACKERS
            if os.path.isdir(os.path.join(root, f"{n}_synthetic", "checkpoints"))]


def _track(name: str) -> dict:
    track = importlib.import_module(f"experiments.{name}_synthetic").get_config().get("track")
    return track.to_dict() if track is not None else {}


def get_config() -> ConfigDict:
    c = ConfigDict()
    c.mode = "eval"
    c.benchmark = "synthetic"  # or otb / uav123 / lasot / got10k_val with c.data_root
    c.data_root = ""
    c.num_videos = 64
    c.seed = 0
    c.max_videos = 0
    c.baselines = ("csrt", "kcf", "static")
    c.models = trained_models()
    c.vot = False
    c.attribute_plots = True
    return c
