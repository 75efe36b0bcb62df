"""Batched tracking speed: frames/s of an untrained tracker at the published crops, 1 and 64 sequences at once.

    python launch.py --experiment=tracking_bench --workdir=runs/tracking_bench
    python launch.py --experiment=tracking_bench --workdir=runs/tb --config.tracking_bench.tracker=siamrpnpp_acm \\
        --config.tracking_bench.model_kwargs='{"backbone": "resnet18_small_atrous", "neck_channels": 16}'
"""

from ml_collections import ConfigDict

from jaxtrack import config


def get_config() -> ConfigDict:
    c = config.experiment("bench")
    c.name = "tracking_bench"
    c.tracking_bench = ConfigDict({
        "tracker": "siamfc",  # a jaxtrack.families name
        "model_kwargs": ConfigDict({"backbone_args": {"width_mult": 0.25}}, type_safe=False),
        "num_sequences": (1, 64),
        "num_frames": 4,
    })
    return c
