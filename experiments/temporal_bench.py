"""TRN's multi-scale relation at K=8 segments (kernels/bench.py `temporal_bench`): TRN-pytorch's 3 test tuples per
scale (19 tuples) against every tuple of scales 2..8 (247), per impl and batch; rows to
<workdir>/temporal_bench.json.

    python launch.py --experiment=temporal_bench --workdir=runs/temporal_bench
    python launch.py --experiment=temporal_bench --workdir=runs/temporal_bench --config.temporal_bench.batches='(1,)'
"""

from ml_collections import ConfigDict

from jaxtrack import config


def get_config() -> ConfigDict:
    c = config.experiment("bench")
    c.name = "temporal_bench"
    c.temporal_bench = ConfigDict({
        "num_segments": 8, "feature_dim": 256, "hidden": 256, "num_classes": 174,  # TRN-pytorch on SSv2
        "tuples_per_scale": 3,  # TRN-pytorch's subsample_num
        "batches": (1, 8, 32), "impls": ("gather", "factored"), "dtype": "float32", "runs": 10, "budget_s": 2.0,
    })
    return c
