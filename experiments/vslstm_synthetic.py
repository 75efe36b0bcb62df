"""vsLSTM video summarizer (BiLSTM, MSE to importance) on the synthetic videos, next to random/uniform/oracle/human.

    python launch.py --experiment=vslstm_synthetic --workdir=runs/vslstm_synthetic

Data, features, schedule and evaluation as `dpplstm_synthetic` (its docstring says why).
"""

from ml_collections import ConfigDict

from experiments import dpplstm_synthetic


def get_config() -> ConfigDict:
    c = dpplstm_synthetic.get_config()
    c.name = "vslstm_synthetic"
    c.task.loss = "vslstm"
    return c
