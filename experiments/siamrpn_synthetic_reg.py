"""`siamrpn_synthetic` with DAT's reciprocative regulariser on the classification branch (issue #20).

    python launch.py --experiment=siamrpn_synthetic_reg --workdir=runs/siamrpn_synthetic_reg

The same model, data, schedule and tracker settings; `task.reg_weight = 0.4` adds 0.4 times the regulariser of the
attention map d(peak score) / d(search crop) inside vs outside the target box (`jaxtrack.train.tasks`). At step 0
on the first four training batches the regulariser is 1.71-1.74 and the classification loss 0.70, so 0.4 makes its
term (0.69) of the order of the classification loss at the start.
"""

from ml_collections import ConfigDict

from experiments import siamrpn_synthetic


def get_config() -> ConfigDict:
    c = siamrpn_synthetic.get_config()
    c.name = "siamrpn_synthetic_reg"
    c.task.reg_weight = 0.4
    return c
