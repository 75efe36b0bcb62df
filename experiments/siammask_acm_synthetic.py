"""SiamMask-ACM on the synthetic videos with their target masks, sized for 2 CPU cores (ResNet-18/4, 63/127 crops).

    python launch.py --experiment=siammask_acm_synthetic --workdir=runs/siammask_acm_synthetic --mode=train

experiments/siammask_synthetic.py's settings with ACM's asymmetric convolution in the RPN and mask branches.
"""

from ml_collections import ConfigDict

from experiments import siammask_acm
from experiments.siammask_synthetic import synthetic


def get_config() -> ConfigDict:
    return synthetic(siammask_acm.get_config(), "siammask_acm_synthetic")
