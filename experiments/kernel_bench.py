"""Operator microbenchmarks (kernels/bench.py) as a launch mode: tables to <workdir>/bench.{md,json}.

    python launch.py --experiment=kernel_bench --workdir=runs/bench
    python launch.py --experiment=kernel_bench --workdir=runs/bench --config.bench.batches='(1, 8)' \
        --config.bench.dtypes='("float32",)' --config.bench.vs_torch=True

Same options as `python -m kernels.bench --help` (default: the whole grid, every impl but the reference).
"""

from ml_collections import ConfigDict

from jaxtrack import config


def get_config() -> ConfigDict:
    c = config.experiment("bench")
    c.name = "kernel_bench"
    c.bench = ConfigDict({
        "shapes": ("siamfc", "siamrpnpp", "siamrpn_up", "acm_search", "acm_template", "roi_107", "roi_7x7"),
        "ops": ("xcorr", "up_xcorr", "dw_xcorr", "asym_conv", "roi_align"),
        "impls": (),  # () = every registered impl but "reference" (and "pallas" on CPU)
        "batches": (1, 8, 32, 128),
        "dtypes": ("float32", "bfloat16"),
        "runs": 10,
        "budget_s": 2.0,
        "skip_over_ms": 3000.0,
        "vs_torch": False,
        "torch_threads": 0,
        "write_auto_table": False,
    })
    return c
