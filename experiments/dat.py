"""DAT (Pu et al., NeurIPS 2018) on RT-MDNet's shared-feature classifier, at the published settings.

    python launch.py --experiment=dat --workdir=runs/dat --config.data.dataset=got10k_train --config.data.manual_dir=...

The classifier (`jaxtrack.models.dat`): VGG-M conv1-3 (96 / 256 / 512) at stride 8, RoI Align to 3x3, fc4 / fc5
of 512 with dropout 0.5, one binary fc6 per training video. Offline (MDNet / RT-MDNet): SGD momentum 0.9, weight
decay 5e-4, gradient clip 10, lr 1e-4 (fc layers x10 in MDNet; one rate here), per step 8 frames with 32
positives (IoU >= 0.7) and 96 negatives (IoU < 0.5) each; RT-MDNet trains 1000 cycles over the videos. DAT's
reciprocative regulariser: weight 5 (`thelamb` in shipubupt/NIPS2018 `tracking/run_tracker.py`).
Online (DAT `tracking/options.py`): first frame 500 positives (IoU >= 0.7) / 5000 negatives (IoU < 0.5), 50
iterations at lr 2e-4; per frame 256 Gaussian candidates (trans 0.6, scale 1.05; trans 1.5 after a failure), the
top 5 averaged, success when their mean positive score > 0; box regression on 1000 first-frame samples (IoU >= 0.6);
updates with 50 positives / 200 negatives (IoU < 0.3) per successful frame, 15 iterations at lr 3e-4, batches of 32
positives and the 32 hardest of 1024 negatives, short-term (last 20 frames) on failure and long-term (last 100
frames) every 10 frames; fc6 at 10x the rate, conv layers frozen. The released code trains the regulariser online
only, from ImageNet VGG-M weights. Values this codebase does not implement are not silently dropped: the fc lr
multipliers and the first-frame LRN are absent here (one learning rate; no LRN).
"""

from ml_collections import ConfigDict

from jaxtrack import config as config_lib

TRACK = {"n_pos_init": 500, "n_neg_init": 5000, "iters_init": 50, "lr_init": 2e-4, "n_samples": 256,
         "trans": 0.6, "scale": 1.05, "trans_expand": 1.5, "top_k": 5, "success_thr": 0.0, "n_bbreg": 1000,
         "n_pos_update": 50, "n_neg_update": 200, "neg_iou_update": 0.3, "iters_update": 15, "lr_update": 3e-4,
         "batch_pos": 32, "batch_neg": 32, "batch_neg_cand": 1024, "frames_short": 20, "frames_long": 100,
         "long_interval": 10, "reg_weight": 5.0}


def get_config() -> ConfigDict:
    c = config_lib.experiment("train")
    c.name = "dat"
    c.model.name = "dat"
    c.model.kwargs = ConfigDict({"widths": (96, 256, 512), "fc_dim": 512, "roi_size": 3, "dropout": 0.5},
                                type_safe=False)
    c.task = ConfigDict({"normalize": "imagenet", "reg_weight": 5.0, "reg_form": "relu"}, type_safe=False)
    c.optim.name = "sgd"
    c.optim.weight_decay = 5e-4
    c.optim.lr = {"type": "log", "start_lr": 1e-4, "end_lr": 1e-4, "step": 1, "mult": 0.1}
    c.optim.warmup.epochs = 0
    c.data.batch_size = 8
    c.data.rois = ConfigDict({"crop_size": 224, "num_pos": 32, "num_neg": 96}, type_safe=False)
    c.track = ConfigDict(TRACK, type_safe=False)
    return c
