"""SiamMask / SiamMask-ACM (STVIR/pysot `siammask_r50_l3`, foolwood/SiamMask): SiamRPN++'s anchor targets and
losses on a one-layer DW (or ACM) RPN, plus the mask branch (`models.siammask`) and its loss (`train.mask_task`); the
tracker is `track.siammask.MaskTracker` (the box as SiamRPN++, plus the mask and the rotated box; mask threshold 0.15).
Batched tracking and export step the model by `track.siammask.step` (the model has `window_masks`), masks included."""

from __future__ import annotations

import functools

from jaxtrack.families.family import Family
from jaxtrack.models.siammask import siammask
from jaxtrack.track.siamese import RPNConfig
from jaxtrack.track.siammask import MaskTracker
from jaxtrack.train import losses
from jaxtrack.train.mask_task import MaskTask

# experiments/siammask_r50_l3/config.yaml TRACK (penalty_k 0.10, window_influence 0.41, lr 0.32)
TRACK = RPNConfig(penalty_k=0.10, window_influence=0.41, lr=0.32)

FAMILIES = (
    # model kwargs: models.siammask.siammask's (backbone, neck_channels, mask_size, refine, refine_sizes, ...)
    Family("siammask", functools.partial(siammask, branch="dw"), MaskTask, losses.SIAMMASK_WEIGHTS, TRACK,
           tracker_class=MaskTracker),
    Family("siammask_acm", functools.partial(siammask, branch="acm"), MaskTask, losses.SIAMMASK_WEIGHTS, TRACK,
           tracker_class=MaskTracker),
)
