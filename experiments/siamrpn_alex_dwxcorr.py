"""pysot model zoo siamrpn_alex_dwxcorr (AlexNet + DW-XCorr RPN, VOT settings): convert its model.pth, then track.

    python launch.py --experiment=siamrpn_alex_dwxcorr --workdir=runs/siamrpn_alex \
        --config.convert.checkpoint=/models/siamrpn_alex_dwxcorr/model.pth

pysot's experiments/siamrpn_alex_dwxcorr/config.yaml: backbone alexnetlegacy (width 1.0, its last BN output), no
neck, a single DepthwiseRPN (5 anchors, 256 -> 256) -- family `siamrpnpp` on one layer (`layers=("layer5",)`,
`neck_channels=None`, unweighted: the one-layer mean is the DepthwiseRPN), template 6x6 -> 4x4 after conv_kernel,
search 287 -> 26 -> 24, output 21x21. TRACK: penalty_k 0.16, window_influence 0.40, lr 0.30, 127 / 287, base size
0, context 0.5. `--mode=train` fine-tunes with experiments/siamrpn.py's (pysot alex_dwxcorr_16gpu) schedule.
"""

from ml_collections import ConfigDict

from experiments import siamrpn
from experiments.siamrpn_r50_l234_dwxcorr import TRACK_RPN, zoo

MODEL = {"backbone": "alexnet", "layers": ("layer5",), "neck_channels": None, "anchor_num": 5, "weighted": False}
TRACK = {**TRACK_RPN, "instance_size": 287, "penalty_k": 0.16, "window_influence": 0.40, "lr": 0.30}


def get_config() -> ConfigDict:
    c = siamrpn.get_config()
    c.model.name = "siamrpnpp"
    c.model.kwargs = dict(MODEL)
    return zoo(c, "siamrpn_alex_dwxcorr", TRACK)
