"""SiamBAN model zoo siamban_r50_l234 (ResNet-50, box-adaptive head, VOT2018 settings): convert, then track.

    python launch.py --experiment=siamban_r50_l234 --workdir=runs/siamban_r50 \
        --config.convert.checkpoint=/models/siamban_r50_l234/model.pth

hqucv/siamban's experiments/siamban_r50_l234/config.yaml: resnet50 used_layers [2, 3, 4], AdjustAllLayer -> 256,
MultiBAN (cls_out_channels 2, weighted, loc_scale) as family `siamban`; TRACK (VOT2018) window_influence
0.4632532824922313, penalty_k 0.08513642556896711, lr 0.44418184746462425, 127 / 255, context 0.5, point stride
8. `--mode=train` fine-tunes with experiments/siamban.py's schedule. OTB100: experiments/siamban_r50_l234_otb.py.
"""

from ml_collections import ConfigDict

from experiments import siamban
from experiments.siamrpn_r50_l234_dwxcorr import zoo

TRACK_BAN = {"normalize": "none", "exemplar_size": 127, "instance_size": 255, "context": 0.5, "stride": 8}


def get_config() -> ConfigDict:
    c = siamban.get_config()
    c.model.kwargs = {"backbone": "resnet50", "neck_channels": 256, "cls_out_channels": 2, "weighted": True}
    return zoo(c, "siamban_r50_l234", {**TRACK_BAN, "window_influence": 0.4632532824922313,
                                       "penalty_k": 0.08513642556896711, "lr": 0.44418184746462425})
