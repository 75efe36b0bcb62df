"""Attention-map pictures of trained DAT classifiers: what the reciprocative regulariser changes.

    python -m jaxtrack.eval.dat_attention docs/figures/dat_attention.png runs/dat_synthetic runs/dat_synthetic_noreg

For a few synthetic test frames, each model's map is the positive part of the gradient of its positive-class score
of the ground-truth RoI (offline fc6 branch 0) with respect to the input crop, summed over colour channels (DAT's
attention map, here through the conv layers to the pixels). Columns: the crop with the box, then one map per
model (each normalised to its maximum), titled with the map's coefficient of variation sigma / mu inside the box
(lower: attention spread over the target).
"""

from __future__ import annotations

import io
import sys

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from jaxtrack import boxes
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import crops, pipeline_rois, synthetic
from jaxtrack.data.pipeline_rois import crop_side
from jaxtrack.files import write_atomic
from jaxtrack.models.dat import DATNet
from jaxtrack.models.preprocess import normalize
from jaxtrack.train import checkpoint


def attention(model: DATNet, params, image: np.ndarray, box: np.ndarray, norm: str) -> np.ndarray:
    """[S, S] positive part of d(positive score of `box` [4] xywh) / d(crop pixels), summed over channels."""
    roi = jnp.asarray(boxes.xywh_to_xyxy(box), jnp.float32)[None, None]

    def score(x):
        return model.apply({"params": params}, x, roi, jnp.zeros(1, jnp.int32))[0, 0, 1]

    g = jax.grad(score)(normalize(jnp.asarray(image)[None], norm))[0]
    return np.asarray(jnp.sum(jax.nn.relu(g), -1))


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit(f"usage: python -m jaxtrack.eval.dat_attention OUT.png WORKDIR [WORKDIR ...] (got {argv[1:]})")
    out, workdirs = argv[1], argv[2:]
    models = []
    for w in workdirs:
        cfg = jt_workdir.read_config(w)
        net = DATNet(num_domains=1, **{k: tuple(v) if isinstance(v, list) else v
                                       for k, v in cfg.model.kwargs.to_dict().items()})
        params = dict(checkpoint.restore_variables(w, -1)["params"])
        params["fc6_kernel"], params["fc6_bias"] = params["fc6_kernel"][:1], params["fc6_bias"][:1]
        rois = pipeline_rois.RoiConfig(**cfg.data.rois.to_dict())
        models.append((w, net, params, cfg.task.normalize, rois.crop_size, rois.target_frac))
    videos = synthetic.make_videos(4, seed=0, split="test")
    fig, axes = plt.subplots(len(videos), 1 + len(models), figsize=(2.6 * (1 + len(models)), 2.6 * len(videos)))
    for row, video in enumerate(videos):
        t = len(video) // 2
        box = video.boxes[t] if np.isfinite(video.boxes[t]).all() else video.boxes[0]
        size, frac = models[0][4], models[0][5]
        matrix = crops.crop_matrix(box, crop_side(box, frac), size)
        image = crops.warp_crop(video.frames[t], matrix, size)
        target = boxes.transform_box(box, matrix)
        x, y, w, h = target
        axes[row, 0].imshow(image)
        axes[row, 0].add_patch(plt.Rectangle((x, y), w, h, fill=False, color="lime"))
        axes[row, 0].set_title(f"{video.name} t={t}", fontsize=8)
        for col, (name, net, params, norm, _, _) in enumerate(models, 1):
            a = attention(net, params, image, target, norm)
            inside = a[int(max(y, 0)):int(y + h), int(max(x, 0)):int(x + w)]
            cv = float(inside.std() / max(inside.mean(), 1e-12))
            axes[row, col].imshow(a / max(a.max(), 1e-12), cmap="inferno")
            axes[row, col].add_patch(plt.Rectangle((x, y), w, h, fill=False, color="cyan"))
            axes[row, col].set_title(f"{name.rstrip('/').split('/')[-1]}\nsigma/mu in box {cv:.2f}", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    write_atomic(out, buf.getvalue())
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
