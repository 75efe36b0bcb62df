"""DAT on the synthetic videos with the reciprocative regulariser, sized for 2 CPU cores (see BENCHMARKS.md).

    python launch.py --experiment=dat_synthetic --workdir=runs/dat_synthetic

`experiments/dat.py` scaled down: widths 24 / 48 / 64, fc 128, 96 px crops (target ~29 px, 3-4 feature cells),
per step 8 crops with 16 positives / 48 negatives each, Adam 1e-3 -> 1e-4 (log) for 2000 steps on 100 training
videos (each its fc6 branch), eval on 2 val batches (branch 0). Regulariser weight 1 offline and online, not the
released code's 5: on these maps (positive parts of RoI-feature gradients, mean of per-sample ratios) 5 made the
regulariser dominate (600 steps: training positive accuracy 0.29 at 5, 0.63 at 1, 0.72 without; loss 7.5, 1.6,
0.25).
Online: DAT's settings at 96 px crops with fewer first-frame negatives (1000), iterations (30), candidates
(128), box-regression samples (300), negative candidates per update (256) and positive frames (30).
`dat_synthetic_noreg` is the same without the regulariser.
"""

from ml_collections import ConfigDict

from experiments import dat


def synthetic_run(c: ConfigDict, reg_weight: float) -> ConfigDict:
    """`c` (the `dat` config) with the short synthetic schedule of the module docstring."""
    c.model.kwargs = ConfigDict({"widths": (24, 48, 64), "fc_dim": 128, "roi_size": 3, "dropout": 0.5},
                                type_safe=False)
    c.task.reg_weight = reg_weight
    c.track.reg_weight = reg_weight
    c.num_epochs, c.steps_per_epoch = 20, 100
    c.log_every, c.checkpoint_every, c.eval_every = 50, 1000, 1000
    c.progress = False
    c.optim.name = "adam"
    c.optim.weight_decay = 1e-4
    c.optim.grad_clip = 10.0
    c.optim.lr = {"type": "log", "start_lr": 1e-3, "end_lr": 1e-4, "step": 1, "mult": 0.1}
    c.data.dataset = "synthetic_videos"
    c.data.split, c.data.eval_split = "train", "val"
    c.data.options = {"num_train": 100, "num_val": 8, "num_test": 16, "image_format": "jpeg"}
    c.data.batch_size = 8
    c.data.eval_batches = 2
    c.data.num_threads = 2
    c.data.rois = ConfigDict({"crop_size": 96, "num_pos": 16, "num_neg": 48, "items_per_video": 8},
                             type_safe=False)
    c.track.crop_size = 96
    c.track.update({"n_neg_init": 1000, "iters_init": 30, "n_samples": 128, "n_bbreg": 300, "batch_neg_cand": 256,
                    "frames_long": 30})
    return c


def get_config() -> ConfigDict:
    c = synthetic_run(dat.get_config(), 1.0)
    c.name = "dat_synthetic"
    return c
