"""Evaluate trackers on the synthetic test split: CSRT, KCF and a static box, plus trained jaxtrack checkpoints.

    python launch.py --experiment=eval_synthetic --workdir=runs/eval_synthetic
    # add a trained model: an entry in config.models, e.g. by editing a copy of this file:
    #   c.models = [{"name": "siamban_acm", "workdir": "runs/siamban_acm_synthetic", "kwargs": {...build kwargs...}}]
"""

from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = ConfigDict()
    c.mode = "eval"
    c.benchmark = "synthetic"  # or otb / uav123 / lasot / got10k_val with c.data_root
    c.data_root = ""
    c.num_videos = 16
    c.seed = 0
    c.max_videos = 0
    c.baselines = ("csrt", "kcf", "static")
    c.models = ()
    c.vot = False
    c.attribute_plots = True
    return c
