"""Multi-scale TRN (scales 4, 3, 2 of K = 4 segments) on the synthetic action clips: tells time-reverse pairs apart.

    python launch.py --experiment=trn_synthetic --workdir=runs/trn_synthetic
    python launch.py --experiment=trn_synthetic --workdir=runs/trn1 --config.model.kwargs.head_kwargs.scales='(4,)'

The recipe of `tsn_synthetic.recognition_config`; the head is TRN's g (ReLU-FC-ReLU-FC, 64 hidden) per scale on 3
tuples per scale (random ones in training, evenly spaced in test). `scales=(4,)` is single-scale TRN.
"""

from ml_collections import ConfigDict

from experiments.tsn_synthetic import recognition_config


def get_config() -> ConfigDict:
    return recognition_config("trn_synthetic", "trn", {"scales": (), "tuples_per_scale": 3, "hidden": 64,
                                                       "dropout": 0.0})
