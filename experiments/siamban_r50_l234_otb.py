"""SiamBAN model zoo siamban_r50_l234_otb (ResNet-50, OTB100 weights and settings): convert, then track.

    python launch.py --experiment=siamban_r50_l234_otb --workdir=runs/siamban_r50_otb \
        --config.convert.checkpoint=/models/siamban_r50_l234_otb/model.pth
    python launch.py --experiment=siamban_r50_l234_otb --workdir=runs/siamban_r50_otb --mode=eval \
        --config.eval.benchmark=otb --config.eval.data_root=/data/OTB100

hqucv/siamban's experiments/siamban_r50_l234_otb/config.yaml: the architecture of siamban_r50_l234 (weighted
MultiBAN), TRACK (OTB100) window_influence 0.3850733326567302, penalty_k 0.020530504470126613,
lr 0.4730770315643308.
"""

from ml_collections import ConfigDict

from experiments import siamban_r50_l234 as base
from experiments.siamrpn_r50_l234_dwxcorr import zoo


def get_config() -> ConfigDict:
    return zoo(base.get_config(), "siamban_r50_l234_otb",
               {**base.TRACK_BAN, "window_influence": 0.3850733326567302, "penalty_k": 0.020530504470126613,
                "lr": 0.4730770315643308})
