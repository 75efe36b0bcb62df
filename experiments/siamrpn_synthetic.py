"""SiamRPN on the synthetic videos, sized for 2 CPU cores (2000 steps of 8 pairs, ResNet-18/4 with a neck).

    python launch.py --experiment=siamrpn_synthetic --workdir=runs/siamrpn_synthetic --mode=train
    python -m jaxtrack.modes.train siamrpn_synthetic runs/siamrpn_synthetic

experiments/siamrpn.py's up-channel RPN (5 anchors) and losses, on layer4 of `resnet18_small_atrous` with a
64-channel neck, 600 training videos (as SiamFC), and the schedule and half-size crops of
`siamfc_synthetic.cpu_run` / `half_crops`. The correlations get a learnt output scale (init 1e-3, as SiamFC's):
unscaled, the from-scratch UP-XCorr sums start in the hundreds (loss 552). Positives at anchor IoU > 0.5
(`half_crops`): 0.438 success AUC on 100 val videos, 0.409 at pysot's 0.6.
"""

from ml_collections import ConfigDict

from experiments import siamrpn
from experiments.siamfc_synthetic import cpu_run, half_crops


def get_config() -> ConfigDict:
    c = cpu_run(siamrpn.get_config())
    c.name = "siamrpn_synthetic"
    c.model.kwargs = {"anchor_num": 5, "backbone": "resnet18_small_atrous", "layer": "layer4", "neck_channels": 64,
                      "out_scale": 1e-3}
    c = half_crops(c, 2000)
    c.data.options.num_train = 600  # anchors at 0.6: 300 videos, 1200 steps 0.377 AUC on 100 val, here 0.409
    c.track.window_influence = 0.4  # 40 val videos: 0.385 success AUC (0.3: 0.374, 0.2: 0.333)
    return c
