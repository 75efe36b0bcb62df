"""pysot model zoo siamrpn_alex_dwxcorr_otb (AlexNet + DW-XCorr RPN, OTB weights): convert its model.pth, track.

    python launch.py --experiment=siamrpn_alex_dwxcorr_otb --workdir=runs/siamrpn_alex_otb \
        --config.convert.checkpoint=/models/siamrpn_alex_dwxcorr_otb/model.pth

pysot's experiments/siamrpn_alex_dwxcorr_otb/config.yaml has the architecture and TRACK settings of
siamrpn_alex_dwxcorr (penalty_k 0.16, window_influence 0.40, lr 0.30, 127 / 287); only the weights differ.
"""

from ml_collections import ConfigDict

from experiments import siamrpn_alex_dwxcorr as base


def get_config() -> ConfigDict:
    c = base.get_config()
    return base.zoo(c, "siamrpn_alex_dwxcorr_otb", base.TRACK)
