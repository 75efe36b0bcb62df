"""SiamBAN-ACM (ResNet-50 layers 2-4, asymmetric-convolution BAN head with the template box): SiamBAN's settings.

    python launch.py --experiment=siamban_acm --workdir=runs/siamban_acm --config.data.manual_dir=/data/GOT-10k

wencheng256/SiamBAN-ACM trains with hqucv/siamban's schedule: see experiments/siamban.py.
"""

from ml_collections import ConfigDict

from experiments import siamban


def get_config() -> ConfigDict:
    c = siamban.get_config()
    c.name = "siamban_acm"
    c.model.name = "siamban_acm"
    return c
