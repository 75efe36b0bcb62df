"""pysot model zoo siammask_r50_l3 (SiamMask ResNet-50, VOT settings): convert its model.pth, then track.

    python launch.py --experiment=siammask_r50_l3 --workdir=runs/siammask_r50 \
        --config.convert.checkpoint=/models/siammask_r50_l3/model.pth
    python launch.py --experiment=siammask_r50_l3 --workdir=runs/siammask_r50 --mode=eval \
        --config.eval.benchmark=vot2018 --config.eval.data_root=/data/VOT2018
    python launch.py --experiment=siammask_r50_l3 --workdir=runs/siammask_r50 --mode=eval \
        --config.eval.benchmark=davis2017 --config.eval.data_root=/data/DAVIS --config.eval.baselines='()'
    python launch.py --experiment=siammask_r50_l3 --workdir=runs/siammask_r50 --mode=eval \
        --config.eval.benchmark=youtube_vos --config.eval.data_root=/data/YouTube-VOS --config.eval.vos_split=valid \
        --config.eval.baselines='()'

The DAVIS / YouTube-VOS runs track every object from its first annotated mask and merge the objects' masks as
SiamMask's VOS test does (`jaxtrack.eval.vos_tracking`); YouTube-VOS `valid` has no ground truth past each object's
first frame, so it writes the result PNGs only. For reference, foolwood/SiamMask's README reports for its DAVIS
model (SiamMask_DAVIS.pth, not this VOT checkpoint): DAVIS 2016 J / F 0.713 / 0.674, DAVIS 2017 0.543 / 0.585,
YouTube-VOS J seen / unseen, F seen / unseen 0.602 / 0.451 / 0.582 / 0.477 (seen / unseen categories: not split here).

The architecture of pysot's experiments/siammask_r50_l3/config.yaml (resnet50 used_layers [0, 1, 2, 3],
AdjustAllLayer 1024 -> 256, DepthwiseRPN 5 anchors, MaskCorr 256 -> 3969, Refine) as family `siammask`, and its TRACK
/ ANCHOR settings (penalty_k 0.10, window_influence 0.41, lr 0.32, 127 / 255, base size 8, context 0.5, stride 8,
ratios 0.33-3, scale 8, mask threshold 0.15, mask output 127; raw 0..255 BGR input, flipped to RGB by the
converter). Published (pysot MODEL_ZOO.md, EAO / A / R): VOT2016 0.455 / 0.634 / 0.219, VOT2018 0.423 / 0.615 /
0.248, VOT2019 0.283 / 0.597 / 0.461; 56 FPS. `--mode=train` in the converted workdir fine-tunes it with
experiments/siammask.py's schedule.
"""

from ml_collections import ConfigDict

from experiments import siammask
from experiments.siamrpn_r50_l234_dwxcorr import TRACK_RPN, zoo


def get_config() -> ConfigDict:
    c = siammask.get_config()
    return zoo(c, "siammask_r50_l3", {**TRACK_RPN, "penalty_k": 0.10, "window_influence": 0.41, "lr": 0.32})
