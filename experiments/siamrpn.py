"""SiamRPN (AlexNet, up-channel RPN, 5 anchors): pysot siamrpn_alex_dwxcorr_16gpu training settings.

    python launch.py --experiment=siamrpn --workdir=runs/siamrpn --config.data.manual_dir=/data/GOT-10k

pysot: 50 epochs of 600000 pairs at 128 per GPU on 16 GPUs (292 steps per epoch), SGD momentum 0.9, weight decay
1e-4, clip 10, warm-up 5 epochs 0.005 -> 0.01 (step), then log 0.01 -> 0.0005; AlexNet conv1-3 never trained,
conv4-5 held for 10 epochs then at 1.0x; loss 1.0 CE + 1.2 L1; output 17 at search 255; 5% negative pairs.
Differences: the head is the up-channel RPN of the original SiamRPN (pysot's alex config uses DW-XCorr); data is
GOT-10k train. conv1-3 are frozen, so the run needs ImageNet weights: `--config.model.init_from=W` with W a
`--mode=convert --config.convert.kind=backbone` workdir of pysot's `alexnet-bn.pth` (or
`--config.model.from_scratch=True`, which then freezes nothing).
"""

from ml_collections import ConfigDict

from experiments.siamrpnpp import ANCHORS
from jaxtrack import config


def get_config() -> ConfigDict:
    c = config.experiment("train")
    c.name = "siamrpn"
    c.model.name = "siamrpn"
    c.model.kwargs = {"anchor_num": 5}
    c.task.normalize = "none"  # pysot feeds raw 0..255 pixels
    c.task.targets = ANCHORS
    c.num_epochs = 50
    c.steps_per_epoch = 600_000 // (128 * 16)
    c.log_every = 50
    c.checkpoint_every = 292
    c.eval_every = 292
    c.optim.lr = {"type": "log", "start_lr": 0.01, "end_lr": 0.0005, "step": 1, "mult": 0.1}
    c.optim.warmup = {"epochs": 5, "type": "step", "start_lr": 0.005, "end_lr": 0.01, "step": 1, "mult": 0.1}
    c.optim.backbone.frozen_prefixes = tuple(f"backbone/{k}{i}" for k in ("conv", "bn") for i in (1, 2, 3))
    c.optim.backbone.train_epoch = 10
    c.optim.backbone.lr_mult = 1.0
    c.data.dataset = "got10k"
    c.data.eval_batches = 20
    c.data.batch_size = 128
    c.data.pairs.frame_range = 100
    c.data.pairs.neg_prob = 0.05
    return c
