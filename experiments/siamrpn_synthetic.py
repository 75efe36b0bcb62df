"""SiamRPN on the synthetic videos, sized for 2 CPU cores (~300 steps of 8 pairs, AlexNet at width 0.25).

    python launch.py --experiment=siamrpn_synthetic --workdir=runs/siamrpn_synthetic --mode=train
    python -m jaxtrack.train.run siamrpn_synthetic runs/siamrpn_synthetic

experiments/siamrpn.py's model (up-channel RPN, 5 anchors) and losses on a quarter-width AlexNet; schedule and
data of `siamfc_synthetic.cpu_run`.
"""

from ml_collections import ConfigDict

from experiments import siamrpn
from experiments.siamfc_synthetic import cpu_run


def get_config() -> ConfigDict:
    c = cpu_run(siamrpn.get_config())
    c.model.kwargs.backbone_args = {"width_mult": 0.25}
    return c
