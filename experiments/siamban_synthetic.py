"""SiamBAN on the synthetic videos, sized for 2 CPU cores (1200 steps of 8 pairs, ResNet-18/4, 63/127 crops).

    python launch.py --experiment=siamban_synthetic --workdir=runs/siamban_synthetic --mode=train
    python -m jaxtrack.modes.train siamban_synthetic runs/siamban_synthetic

experiments/siamban.py's model and losses on `resnet18_small_atrous` (layers 2-4: 32/64/128 channels) with 16
neck channels; schedule and data of `siamfc_synthetic.cpu_run`, crops of `siamfc_synthetic.half_crops`.
"""

from ml_collections import ConfigDict

from experiments import siamban
from experiments.siamfc_synthetic import resnet_run


def get_config() -> ConfigDict:
    c = resnet_run(siamban.get_config(), steps=1200)
    c.name = "siamban_synthetic"
    c.track.window_influence = 0.4  # 40 val videos: 0.395 success AUC (0.3: 0.382, 0.2: 0.350)
    return c
