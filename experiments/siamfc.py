"""SiamFC (AlexNetV1, cross-correlation score map): huanglianghua/siamfc-pytorch training settings.

    python launch.py --experiment=siamfc --workdir=runs/siamfc --config.data.manual_dir=/data/GOT-10k

siamfc-pytorch: GOT-10k train (9335 videos, one pair per video and epoch, batch 8: 1166 steps per epoch), 50
epochs, SGD momentum 0.9, weight decay 5e-4, lr 1e-2 -> 1e-5 log-decayed per epoch, no warm-up, no clipping, the
whole network trained from scratch; labels r_pos 16 / r_neg 0 px at total stride 8, balanced logistic loss; crops
127 / 255 with context 0.5, pairs at most 100 frames apart, no negative pairs; raw 0..255 inputs, out_scale 1e-3.
Differences: the rate is np.logspace(1e-2, 1e-5, 50) (siamfc-pytorch's ExponentialLR stops one factor above
1e-5); augmentation is pysot's crop jitter (stretch 0.05, shift 8 px) without its colour / blur.
"""

from ml_collections import ConfigDict

from jaxtrack import config


def get_config() -> ConfigDict:
    c = config.experiment("train")
    c.name = "siamfc"
    c.model.name = "siamfc"
    c.model.kwargs = {"out_scale": 0.001}
    c.task.normalize = "none"
    c.task.targets = {"r_pos": 16.0, "r_neg": 0.0, "total_stride": 8}
    c.num_epochs = 50
    c.steps_per_epoch = 9335 // 8
    c.log_every = 50
    c.checkpoint_every = 1166
    c.eval_every = 1166
    c.optim.weight_decay = 5e-4
    c.optim.grad_clip = 0.0
    c.optim.lr = {"type": "log", "start_lr": 1e-2, "end_lr": 1e-5, "step": 1, "mult": 0.1}
    c.optim.warmup.epochs = 0
    c.optim.backbone.train_epoch = 0
    c.optim.backbone.lr_mult = 1.0
    c.data.dataset = "got10k"
    c.data.eval_batches = 20
    c.data.batch_size = 8
    c.data.pairs.frame_range = 100
    c.data.pairs.neg_prob = 0.0
    c.data.pairs.template_aug = {"shift": 0.0, "scale": 0.05, "blur": 0.0, "flip": 0.0, "color": 0.0}
    c.data.pairs.search_aug = {"shift": 8.0, "scale": 0.05, "blur": 0.0, "flip": 0.0, "color": 0.0}
    return c
