"""SiamFC on the synthetic videos, sized for 2 CPU cores (~300 steps of 8 pairs, narrow AlexNet, a few minutes).

    python launch.py --experiment=siamfc_synthetic --workdir=runs/siamfc_synthetic --mode=train
    python -m jaxtrack.train.run siamfc_synthetic runs/siamfc_synthetic

`cpu_run` turns a full-size config into this short run (the other `*_synthetic` experiments use it): synthetic
videos (48 train / 8 val, 256x256, 64 frames; TFDS under <workdir>/../tfds), batch 8, 10 epochs of 30 steps, Adam
with log 2e-3 -> 2e-4 (from scratch, SGD at the published rates barely moves in 300 steps: SiamFC's logits are
scaled by 1e-3 and the IoU loss of SiamBAN has vanishing gradients while the predicted boxes are ~1 px), no warm-up,
nothing frozen (no pretrained backbone), ImageNet-normalised inputs, eval on 2 val batches at steps 150 and 300.
SiamFC's AlexNet here: width 0.25, no grouped convs (2x slower on XLA:CPU).
"""

from ml_collections import ConfigDict

from experiments import siamfc


def cpu_run(c: ConfigDict, lr: float = 2e-3) -> ConfigDict:
    """`c` with the short synthetic schedule and data described in the module docstring."""
    c.task.normalize = "imagenet"
    c.num_epochs, c.steps_per_epoch = 10, 30
    c.log_every, c.checkpoint_every, c.eval_every = 10, 100, 150
    c.progress = False
    c.optim.name = "adam"
    c.optim.weight_decay = 1e-4
    c.optim.grad_clip = 10.0
    c.optim.lr = {"type": "log", "start_lr": lr, "end_lr": lr / 10, "step": 1, "mult": 0.1}
    c.optim.warmup.epochs = 0
    c.optim.backbone.frozen_prefixes = ()
    c.optim.backbone.train_epoch = 0
    c.optim.backbone.lr_mult = 1.0
    c.data.dataset = "synthetic_videos"
    c.data.split, c.data.eval_split = "train", "val"
    c.data.options = {"num_train": 48, "num_val": 8, "num_test": 16, "image_format": "jpeg"}
    c.data.batch_size = 8
    c.data.eval_batches = 2
    c.data.num_threads = 2
    return c


def get_config() -> ConfigDict:
    c = cpu_run(siamfc.get_config())
    c.model.kwargs = {"backbone_args": {"width_mult": 0.25, "groups": 1}, "out_scale": 0.001}
    return c
