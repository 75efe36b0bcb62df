"""SiamBAN on the synthetic videos, sized for 2 CPU cores (~300 steps of 8 pairs, ResNet-18/4 atrous, neck 16).

    python launch.py --experiment=siamban_synthetic --workdir=runs/siamban_synthetic --mode=train
    python -m jaxtrack.train.run siamban_synthetic runs/siamban_synthetic

experiments/siamban.py's model and losses on `resnet18_small_atrous` (layers 2-4: 32/64/128 channels) with 16
neck channels; schedule and data of `siamfc_synthetic.cpu_run`.
"""

from ml_collections import ConfigDict

from experiments import siamban
from experiments.siamfc_synthetic import cpu_run


def get_config() -> ConfigDict:
    c = cpu_run(siamban.get_config())
    c.model.kwargs.backbone = "resnet18_small_atrous"
    c.model.kwargs.neck_channels = 16
    return c
