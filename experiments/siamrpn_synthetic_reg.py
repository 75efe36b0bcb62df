"""`siamrpn_synthetic` with DAT's reciprocative regulariser on the classification branch (issue #20).

    python launch.py --experiment=siamrpn_synthetic_reg --workdir=runs/siamrpn_synthetic_reg

The same model, data, schedule and tracker settings; `task.reg_weight = 0.4` adds 0.4 times the regulariser of the
attention map d(peak score) / d(search crop) inside vs outside the target box (`jaxtrack.train.tasks`). At step 0
on the first four training batches the regulariser is 1.71-1.74 and the classification loss 0.70, so 0.4 makes its
term (0.69) of the order of the classification loss at the start.

Measured (2026-11-30, 2 shared CPU cores, BENCHMARKS.md): 20 min for 2000 steps (1.65 steps/s; 2.18 without the
regulariser); on the 100 first synthetic test videos 0.403 success AUC against siamrpn_synthetic's 0.435 (on - off
-0.032, paired bootstrap [-0.069, +0.005]), with attention spread more evenly over the target.
"""

from ml_collections import ConfigDict

from experiments import siamrpn_synthetic


def get_config() -> ConfigDict:
    c = siamrpn_synthetic.get_config()
    c.name = "siamrpn_synthetic_reg"
    c.task.reg_weight = 0.4
    return c
