"""SiamBAN (ResNet-50 layers 2-4, anchor-free box adaptive head): hqucv/siamban siamban_r50_l234 training settings.

    python launch.py --experiment=siamban --workdir=runs/siamban --config.data.manual_dir=/data/GOT-10k \
        --config.model.init_from=runs/r50_imagenet       # a converted ResNet-50: see experiments/siamrpnpp.py

siamban: 20 epochs of VIDEOS_PER_EPOCH = 1000000 pairs at 28 per GPU on 8 GPUs (4464 steps per epoch), SGD
momentum 0.9, weight decay 1e-4, clip 10 (pysot defaults), warm-up 5 epochs 0.001 -> 0.005 (step), then log
0.005 -> 0.00005; backbone layers 2-4 held for 10 epochs then 0.1x; loss 1.0 CE + 1.0 linear IoU; points stride 8,
16 positives / 64 samples. Differences: data is GOT-10k train (siamban adds VID, YouTube-BB, COCO, DET, LaSOT);
steps_per_epoch assumes 8 devices; the ImageNet backbone comes from `model.init_from` (or `model.from_scratch=True`).
"""

from ml_collections import ConfigDict

from experiments.siamrpnpp import resnet50_on_got10k
from jaxtrack import config


def get_config() -> ConfigDict:
    c = config.experiment("train")
    c.name = "siamban"
    c.model.name = "siamban"
    c.model.kwargs = {"backbone": "resnet50", "neck_channels": 256, "cls_out_channels": 2, "weighted": True}
    c.task.normalize = "none"  # siamban feeds raw 0..255 pixels
    c.task.targets = {"stride": 8, "pos_num": 16, "total_num": 64, "neg_num": 16}
    c.num_epochs = 20
    c.steps_per_epoch = 1_000_000 // (28 * 8)
    c.log_every = 50
    c.checkpoint_every = 4464
    c.eval_every = 4464
    c.optim.lr.end_lr = 0.00005
    return resnet50_on_got10k(c)
