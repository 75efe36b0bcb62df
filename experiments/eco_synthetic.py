"""ECO-Lite (3D convolutions over the K = 4 segments' stacked layer2 maps) on the synthetic action clips.

    python launch.py --experiment=eco_synthetic --workdir=runs/eco_synthetic
    python launch.py --experiment=eco_synthetic --workdir=runs/eco_full --config.model.kwargs.head=eco

The recipe of `tsn_synthetic.recognition_config`; the head stacks the backbone's layer2 maps (4x4x32 per frame) in
time, fuses them with two 3x3x3 convolutions (32 channels, ReLU) and a masked global average before the classifier.
`head=eco` adds full ECO's 2D branch (the pooled 2D features averaged over segments).
"""

from ml_collections import ConfigDict

from experiments.tsn_synthetic import recognition_config


def get_config() -> ConfigDict:
    return recognition_config("eco_synthetic", "eco_lite", {"channels": 32, "dropout": 0.0})
