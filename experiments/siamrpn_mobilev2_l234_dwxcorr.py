"""pysot model zoo siamrpn_mobilev2_l234_dwxcorr (SiamRPN++ MobileNetV2 x1.4, VOT settings): convert, then track.

    python launch.py --experiment=siamrpn_mobilev2_l234_dwxcorr --workdir=runs/siamrpn_mobilev2 \
        --config.convert.checkpoint=/models/siamrpn_mobilev2_l234_dwxcorr/model.pth

pysot's experiments/siamrpn_mobilev2_l234_dwxcorr/config.yaml: mobilenetv2 (width_mult 1.4, used_layers [3, 5, 7]:
44 / 134 / 448 channels), AdjustAllLayer -> 256, MultiRPN 5 anchors unweighted; TRACK penalty_k 0.04,
window_influence 0.4, lr 0.5, 127 / 255, context 0.5. pysot publishes no training config for it: `--mode=train`
fine-tunes with experiments/siamrpnpp.py's schedule and no frozen layers.
"""

from ml_collections import ConfigDict

from experiments import siamrpnpp
from experiments.siamrpn_r50_l234_dwxcorr import TRACK_RPN, zoo


def get_config() -> ConfigDict:
    c = siamrpnpp.get_config()
    c.model.kwargs = {"backbone": "mobilenetv2", "backbone_args": {"width_mult": 1.4, "used_layers": (3, 5, 7)},
                      "layers": ("layer3", "layer5", "layer7"), "neck_channels": 256, "anchor_num": 5,
                      "weighted": False}
    c.optim.backbone.frozen_prefixes = ()
    return zoo(c, "siamrpn_mobilev2_l234_dwxcorr",
               {**TRACK_RPN, "penalty_k": 0.04, "window_influence": 0.4, "lr": 0.5})
