"""SiamMask-ACM (SiamMask with ACM's asymmetric convolution in the RPN and mask branches): SiamMask's settings.

    python launch.py --experiment=siammask_acm --workdir=runs/siammask_acm --config.data.manual_dir=/data/GOT-10k \
        --config.model.init_from=runs/r50_imagenet

The ACM trackers keep their baselines' training settings (Han et al. CVPR 2021): see experiments/siammask.py.
"""

from ml_collections import ConfigDict

from experiments import siammask


def get_config() -> ConfigDict:
    c = siammask.get_config()
    c.name = "siammask_acm"
    c.model.name = "siammask_acm"
    return c
