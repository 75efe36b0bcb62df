"""pysot model zoo siamrpn_r50_l234_dwxcorr (SiamRPN++ ResNet-50, VOT settings): convert its model.pth, then track.

    python launch.py --experiment=siamrpn_r50_l234_dwxcorr --workdir=runs/siamrpn_r50 \
        --config.convert.checkpoint=/models/siamrpn_r50_l234_dwxcorr/model.pth
    python launch.py --experiment=siamrpn_r50_l234_dwxcorr --workdir=runs/siamrpn_r50 --mode=eval \
        --config.eval.benchmark=vot2018 --config.eval.data_root=/data/VOT2018

The architecture of pysot's experiments/siamrpn_r50_l234_dwxcorr/config.yaml (resnet50 used_layers [2, 3, 4],
AdjustAllLayer 512/1024/2048 -> 256, MultiRPN 5 anchors, weighted) as family `siamrpnpp`, and its TRACK / ANCHOR
settings (penalty_k 0.05, window_influence 0.42, lr 0.38, 127 / 255, context 0.5, stride 8, ratios 0.33-3, scale
8; raw 0..255 input). `--mode=train` in the converted workdir fine-tunes it with experiments/siamrpnpp.py's
schedule. OTB weights and settings: experiments/siamrpn_r50_l234_dwxcorr_otb.py.
"""

from ml_collections import ConfigDict

from experiments import siamrpnpp

TRACK_RPN = {"normalize": "none", "exemplar_size": 127, "instance_size": 255, "context": 0.5, "stride": 8,
             "ratios": (0.33, 0.5, 1.0, 2.0, 3.0), "scales": (8.0,)}


def zoo(c: ConfigDict, name: str, track: dict) -> ConfigDict:
    """`c` as a model-zoo entry: named `name`, `--mode=convert` by default, tracker settings `track`."""
    c.name = name
    c.mode = "convert"
    c.task.normalize = "none"  # pysot / SiamBAN feed raw 0..255 pixels
    c.track = ConfigDict(track, type_safe=False)
    return c


def get_config() -> ConfigDict:
    c = siamrpnpp.get_config()
    c.model.kwargs = {"backbone": "resnet50", "neck_channels": 256, "anchor_num": 5, "weighted": True}
    return zoo(c, "siamrpn_r50_l234_dwxcorr",
               {**TRACK_RPN, "penalty_k": 0.05, "window_influence": 0.42, "lr": 0.38})
