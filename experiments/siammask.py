"""SiamMask (ResNet-50 to layer 3, DW-Corr RPN + mask branch + refine): foolwood/SiamMask's training settings.

    python launch.py --experiment=siammask --workdir=runs/siammask --config.data.manual_dir=/data/GOT-10k \
        --config.model.init_from=runs/r50_imagenet

Published (Wang et al. CVPR 2019; foolwood/SiamMask `experiments/siammask_base` then `siammask_sharp`; pysot's
`siammask_r50_l3` is its converted model and has no training code for the mask): ResNet-50 conv1-layer3 (layer3
dilation 2) from ImageNet, adjust layer 1024 -> 256, DW-Corr RPN (5 anchors, ratios 0.33-3, scale 8, IoU 0.6 / 0.3,
16 positives of 64), mask branch to 63 x 63 per window. Stage 1 (base): 20 epochs of 600000 pairs (YouTube-VOS, VID,
COCO, DET; 20% negatives), batch 64 (16 x 4 GPUs), SGD momentum 0.9, weight decay 1e-4, warm-up 5 epochs 0.001 ->
0.005 (step), then log 0.005 -> 0.0025; only the adjust layer and heads train at first, layer2-3 from the half-way
point at 0.1x; loss 1.0 CE + 1.2 L1 + 36 mask (the paper: lambda_1 = 32). Stage 2 (sharp): the refine module
alone, 20 epochs of 200000 pairs (YouTube-VOS, COCO), search crops 143, log 0.01 -> 0.0025, loss weights 0 / 0 / 36.
Tracker (pysot siammask_r50_l3 TRACK): penalty_k 0.10, window_influence 0.41, lr 0.32, mask threshold 0.15.

Here: one joint stage (base and refine together; `model.kwargs.refine=False` trains the base alone, and a second
run from its workdir with `model.init_from` and the base layers in `optim.backbone.frozen_prefixes` is the sharp
stage), pysot's loss weights (TRAIN.CLS_WEIGHT 1.0, LOC_WEIGHT 1.2, MASK_WEIGHT 1; `task.mask_weight=36` gives
foolwood's), GOT-10k pairs (boxes only: the mask term is 0 on pairs without masks, as foolwood's datasets without
masks), steps_per_epoch for 64 pairs per step.
"""

from ml_collections import ConfigDict

from experiments import siamrpnpp


def get_config() -> ConfigDict:
    c = siamrpnpp.get_config()
    c.name = "siammask"
    c.model.name = "siammask"
    c.model.kwargs = {"backbone": "resnet50", "neck_channels": 256, "anchor_num": 5, "mask_size": 63, "refine": True}
    c.optim.lr.end_lr = 0.0025
    c.data.batch_size = 64
    c.steps_per_epoch = 600_000 // 64
    c.checkpoint_every = c.eval_every = c.steps_per_epoch
    return c
