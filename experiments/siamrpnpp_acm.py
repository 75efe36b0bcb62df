"""SiamRPN++-ACM (ResNet-50 layers 2-4, asymmetric-convolution head, 5 anchors): SiamRPN++'s pysot settings.

    python launch.py --experiment=siamrpnpp_acm --workdir=runs/siamrpnpp_acm --config.data.manual_dir=/data/GOT-10k

Han et al. (CVPR 2021) train the ACM trackers with their baselines' settings: see experiments/siamrpnpp.py.
"""

from ml_collections import ConfigDict

from experiments import siamrpnpp


def get_config() -> ConfigDict:
    c = siamrpnpp.get_config()
    c.name = "siamrpnpp_acm"
    c.model.name = "siamrpnpp_acm"
    return c
