"""SiamRPN++ on the synthetic videos, sized for 2 CPU cores (1200 steps of 8 pairs, ResNet-18/4, 63/127 crops).

    python launch.py --experiment=siamrpnpp_synthetic --workdir=runs/siamrpnpp_synthetic --mode=train
    python -m jaxtrack.modes.train siamrpnpp_synthetic runs/siamrpnpp_synthetic

experiments/siamrpnpp.py's model and losses on `resnet18_small_atrous` (layers 2-4: 32/64/128 channels) with 16
neck channels; schedule and data of `siamfc_synthetic.cpu_run`, crops of `siamfc_synthetic.half_crops`.
"""

from ml_collections import ConfigDict

from experiments import siamrpnpp
from experiments.siamfc_synthetic import resnet_run


def get_config() -> ConfigDict:
    c = resnet_run(siamrpnpp.get_config(), steps=1200)
    c.name = "siamrpnpp_synthetic"
    return c
