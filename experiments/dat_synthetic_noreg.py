"""DAT on the synthetic videos without the reciprocative regulariser (RT-MDNet's classifier; cf. dat_synthetic).

    python launch.py --experiment=dat_synthetic_noreg --workdir=runs/dat_synthetic_noreg
"""

from ml_collections import ConfigDict

from experiments import dat
from experiments.dat_synthetic import synthetic_run


def get_config() -> ConfigDict:
    c = synthetic_run(dat.get_config(), 0.0)
    c.name = "dat_synthetic_noreg"
    return c
