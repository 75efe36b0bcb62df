"""SiamBAN / SiamBAN-ACM (hqucv/siamban, wencheng256/SiamBAN-ACM): point targets, select-CE + linear IoU."""

from __future__ import annotations

import functools

from jaxtrack.families.family import Family
from jaxtrack.models.siamese import multi_layer
from jaxtrack.track.siamese import BANConfig
from jaxtrack.train import losses, tasks

FAMILIES = (
    # model kwargs: cls_out_channels, weighted, impl, ...
    Family("siamban", functools.partial(multi_layer, "multi_ban", branch="dw"), tasks.PointTask,
           losses.SIAMBAN_WEIGHTS, BANConfig()),
    Family("siamban_acm", functools.partial(multi_layer, "multi_ban", branch="acm"), tasks.PointTask,
           losses.SIAMBAN_WEIGHTS, BANConfig()),
)
