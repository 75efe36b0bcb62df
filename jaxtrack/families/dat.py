"""DAT (Pu et al., NeurIPS 2018) on RT-MDNet's classifier: tracking by detection with online fine-tuning.

Trained offline by `jaxtrack.modes.dat_train` (`--mode=train` with `model.name="dat"`: multi-domain RoI batches,
`train.dat_task.DATTask`, not the Siamese pair tasks, so `Family.make_task` is not its route); tracked by
`track.dat.DATTracker` with `track.dat.DATConfig` settings (`config.track` over DAT's published ones).
"""

from __future__ import annotations

from jaxtrack.families.family import Family
from jaxtrack.models.dat import DATNet
from jaxtrack.track.dat import DATConfig, DATTracker
from jaxtrack.train import dat_task, losses

FAMILIES = (
    Family("dat", DATNet, dat_task.DATTask, losses.LossWeights(), DATConfig(), evaluated=False,
           tracker_class=DATTracker),
)
