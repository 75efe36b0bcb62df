"""SiamRPN / SiamRPN++ / SiamRPN++-ACM (STVIR/pysot): anchor targets, select-CE + weighted L1, pysot's tracker."""

from __future__ import annotations

import functools

from jaxtrack.families.family import Family
from jaxtrack.models.siamese import multi_layer, single_layer
from jaxtrack.track.siamese import RPNConfig
from jaxtrack.train import losses, tasks

FAMILIES = (
    # siamrpn_alex_dwxcorr's tracker settings; model kwargs: anchor_num, features, impl
    Family("siamrpn", functools.partial(single_layer, "up_rpn", backbone="alexnet"), tasks.AnchorTask,
           losses.SIAMRPN_WEIGHTS, RPNConfig(instance_size=287, penalty_k=0.16, window_influence=0.40, lr=0.30)),
    # siamrpn_r50_l234_dwxcorr's; model kwargs: anchor_num, weighted, hidden, impl
    Family("siamrpnpp", functools.partial(multi_layer, "multi_rpn", branch="dw"), tasks.AnchorTask,
           losses.SIAMRPN_WEIGHTS, RPNConfig()),
    Family("siamrpnpp_acm", functools.partial(multi_layer, "multi_rpn", branch="acm"), tasks.AnchorTask,
           losses.SIAMRPN_WEIGHTS, RPNConfig()),
)
