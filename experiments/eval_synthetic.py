"""Evaluate trackers on the synthetic test split: CSRT, KCF and a static box, plus trained jaxtrack checkpoints.

    python launch.py --experiment=eval_synthetic --workdir=runs/eval_synthetic

`eval.models` lists every `<name>_synthetic` experiment of an evaluated family (`jaxtrack.families`) trained under
`runs/` (a `runs/<name>_synthetic/checkpoints` folder, as `launch.py --experiment=<name>_synthetic
--workdir=runs/<name>_synthetic --mode=train` writes), each with the build kwargs and input normalisation of its
workdir's config.json and the tracker settings (`track`: crop sizes, tuned window / penalty / lr) of the experiment
file as it is now (they do not change training). Paths are relative to the working directory (the repository
root).

64 test videos (the training configs' TFDS test split holds 16): CSRT's success AUC is 0.510 on the first 16 test
videos, 0.415 on 64; 0.388 on 40 val videos, 0.423 on 100. Differences of a few hundredths need >= 64 videos.
"""

import importlib
import os

from ml_collections import ConfigDict

from jaxtrack import config, families


def trained_models(root: str = "runs") -> list[dict]:
    """Model entries (`config.eval.models`) of the evaluated families with a `<name>_synthetic` checkpoint under
    `root`, each with the tracker settings of its experiment file."""
    return [{"workdir": os.path.join(root, f"{n}_synthetic"), "track": _track(n)}
            for n in families.names(evaluated=True)
            if os.path.isdir(os.path.join(root, f"{n}_synthetic", "checkpoints"))]


def _track(name: str) -> dict:
    return importlib.import_module(f"experiments.{name}_synthetic").get_config().track.to_dict()


def get_config() -> ConfigDict:
    c = config.experiment("eval")
    c.name = "eval_synthetic"
    c.eval.benchmark = "synthetic"  # or otb / uav123 / lasot / got10k_val with c.eval.data_root
    c.eval.num_videos = 64
    c.eval.seed = 0
    c.eval.baselines = ("csrt", "kcf", "static")
    c.eval.models = trained_models()
    c.eval.vot = False
    c.eval.attribute_plots = True
    return c
