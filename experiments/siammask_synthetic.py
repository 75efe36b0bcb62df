"""SiamMask on the synthetic videos with their target masks, sized for 2 CPU cores (ResNet-18/4, 63/127 crops).

    python launch.py --experiment=siammask_synthetic --workdir=runs/siammask_synthetic --mode=train
    python -m jaxtrack.modes.train siammask_synthetic runs/siammask_synthetic

experiments/siammask.py's model and losses (joint base + refine) on `resnet18_small_atrous` (layer3: 64 channels,
stem / layer1 / layer2 for the refine) with 16 neck channels; schedule and data of `siamfc_synthetic.cpu_run`, crops
of `siamfc_synthetic.half_crops` with SiamRPN's anchor settings there (scale 4, positives at IoU > 0.5). At the
halved crops the mask branch predicts 31 x 31 per window (63 x 63 at 127 / 255) and the refine crops 29 / 15 / 7
feature windows (61 / 31 / 15) into a 63 x 63 mask of the 63 px exemplar window.
The pairs carry the synthetic target masks (`data.pairs.masks`: each search crop's `search_mask`). Measured
(BENCHMARKS.md, 2 shared CPU cores): 600 steps in 8 min wall (5.4 CPU min), loss 1.88 -> 0.98; on the synthetic VOS
test split (`--mode=eval --config.eval.benchmark=synthetic_vos`) its masks score J&F 0.248, its boxes filled 0.203.
"""

from ml_collections import ConfigDict

from experiments import siammask
from experiments.siamfc_synthetic import resnet_run

STEPS = 600


def synthetic(c: ConfigDict, name: str) -> ConfigDict:
    """A SiamMask(-ACM) config `c` sized for the synthetic videos (module docstring), named `name`."""
    c = resnet_run(c, steps=STEPS)
    c.name = name
    c.model.kwargs.update({"mask_size": 31, "refine_sizes": (29, 15, 7), "refine_out": 63})
    c.task.targets = {"scales": (4.0,), "thr_high": 0.5}
    c.track.scales = (4.0,)
    c.data.pairs.masks = True
    return c


def get_config() -> ConfigDict:
    return synthetic(siammask.get_config(), "siammask_synthetic")
