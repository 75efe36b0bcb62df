"""pysot model zoo siamrpn_r50_l234_dwxcorr_otb (SiamRPN++ ResNet-50, OTB weights and settings): convert, track.

    python launch.py --experiment=siamrpn_r50_l234_dwxcorr_otb --workdir=runs/siamrpn_r50_otb \
        --config.convert.checkpoint=/models/siamrpn_r50_l234_dwxcorr_otb/model.pth
    python launch.py --experiment=siamrpn_r50_l234_dwxcorr_otb --workdir=runs/siamrpn_r50_otb --mode=eval \
        --config.eval.benchmark=otb --config.eval.data_root=/data/OTB100

pysot's experiments/siamrpn_r50_l234_dwxcorr_otb/config.yaml: the same network with an unweighted MultiRPN
(`weighted: False`: the layers' mean, no cls_weight / loc_weight in the checkpoint), penalty_k 0.24,
window_influence 0.5, lr 0.25.
"""

from ml_collections import ConfigDict

from experiments import siamrpn_r50_l234_dwxcorr as base


def get_config() -> ConfigDict:
    c = base.get_config()
    c.model.kwargs.weighted = False
    return base.zoo(c, "siamrpn_r50_l234_dwxcorr_otb",
                    {**base.TRACK_RPN, "penalty_k": 0.24, "window_influence": 0.5, "lr": 0.25})
