"""SiamFC (huanglianghua/siamfc-pytorch): one correlation layer, balanced logistic loss, a scale pyramid."""

from __future__ import annotations

import functools

from jaxtrack.families.family import Family
from jaxtrack.models.siamese import single_layer
from jaxtrack.track.siamese import SiamFCConfig
from jaxtrack.train import losses, tasks

FAMILIES = (
    Family("siamfc", functools.partial(single_layer, "siamfc", backbone="alexnet_siamfc"),  # out_scale, impl
           tasks.SiamFCTask, losses.LossWeights(cls=1.0, loc=0.0), SiamFCConfig()),
)
