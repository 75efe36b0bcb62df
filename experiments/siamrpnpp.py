"""SiamRPN++ (ResNet-50 layers 2-4, DW-XCorr, 5 anchors): pysot siamrpn_r50_l234_dwxcorr_8gpu training settings.

    python launch.py --experiment=siamrpnpp --workdir=runs/r50_imagenet --mode=convert \
        --config.convert.kind=backbone --config.convert.checkpoint=pretrained_models/resnet50.model
    python launch.py --experiment=siamrpnpp --workdir=runs/siamrpnpp --config.data.manual_dir=/data/GOT-10k \
        --config.model.init_from=runs/r50_imagenet

pysot: 20 epochs of VIDEOS_PER_EPOCH = 600000 pairs at 28 per GPU on 8 GPUs (2678 steps per epoch), SGD momentum
0.9, weight decay 1e-4, gradient clip 10, warm-up 5 epochs 0.001 -> 0.005 (step), then log 0.005 -> 0.0005;
backbone layers 2-4 held for 10 epochs then trained at 0.1x, conv1 / layer1 never trained; loss 1.0 CE + 1.2 L1.
Differences: data is GOT-10k train (pysot: VID, YouTube-BB, COCO, DET); steps_per_epoch assumes 8 devices. The
ImageNet backbone (pysot's resnet50.model; torchvision's resnet50 weights also convert, with
`convert.bgr_to_rgb=False`, their 1x1 shortcuts initialising the 3x3 ones) comes from `model.init_from`; without
it the run stops, since conv1 / layer1 would stay random, unless `--config.model.from_scratch=True` (every layer
trained, nothing frozen).
"""

from ml_collections import ConfigDict

from jaxtrack import config

ANCHORS = {"stride": 8, "ratios": (0.33, 0.5, 1.0, 2.0, 3.0), "scales": (8.0,), "thr_high": 0.6, "thr_low": 0.3,
           "pos_num": 16, "total_num": 64, "neg_num": 16}
RESNET50_FROZEN = ("backbone/conv1", "backbone/bn1", "backbone/layer1_0", "backbone/layer1_1", "backbone/layer1_2")


def get_config() -> ConfigDict:
    c = config.experiment("train")
    c.name = "siamrpnpp"
    c.model.name = "siamrpnpp"
    c.model.kwargs = {"backbone": "resnet50", "neck_channels": 256, "anchor_num": 5, "weighted": True}
    c.task.normalize = "none"  # pysot feeds raw 0..255 pixels
    c.task.targets = ANCHORS
    c.num_epochs = 20
    c.steps_per_epoch = 600_000 // (28 * 8)
    c.log_every = 50
    c.checkpoint_every = 2678
    c.eval_every = 2678
    return resnet50_on_got10k(c)


def resnet50_on_got10k(c: ConfigDict) -> ConfigDict:
    """What SiamRPN++ and SiamBAN share: ResNet-50 conv1 / layer1 never trained, layers 2-4 held for 10 epochs then
    trained at 0.1x; GOT-10k pairs, 28 per device, frame range 100, 20% negatives, 20 eval batches."""
    c.optim.backbone.frozen_prefixes = RESNET50_FROZEN
    c.optim.backbone.train_epoch = 10
    c.optim.backbone.lr_mult = 0.1
    c.data.dataset = "got10k"
    c.data.eval_batches = 20
    c.data.batch_size = 28
    c.data.pairs.frame_range = 100
    c.data.pairs.neg_prob = 0.2
    return c
