"""Attention-map pictures of trained DAT classifiers and Siamese trackers: what the reciprocative regulariser changes.

    python -m jaxtrack.eval.dat_attention docs/figures/dat_attention.png runs/dat_synthetic runs/dat_synthetic_noreg
    python -m jaxtrack.eval.dat_attention docs/figures/siamrpn_attention.png runs/siamrpn_synthetic_reg \
        runs/siamrpn_synthetic

For a few synthetic test frames, each model's map is the positive part of a score's gradient with respect to the
input crop, summed over colour channels. DAT: the positive-class score of the ground-truth RoI (offline fc6 branch
0) on DAT's crop around the box (DAT's attention map, here through the conv layers to the pixels). Siamese workdirs
(`jaxtrack.families`): the peak score over the search crop the tracker takes at that frame (centred on the previous
frame's box, template from frame 0), the training regulariser's map (`train.tasks.SiameseTask.attention`). Columns:
a crop with the box (once per kind of crop), then one map per model (each normalised to its maximum), titled with
the map's coefficient of variation sigma / mu inside the box (lower: attention spread over the target).
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

from jaxtrack import boxes, families
from jaxtrack import config as config_lib
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import crops, pipeline_pairs, pipeline_rois, synthetic
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


def dat_model(w: str, cfg):
    """(crop kind, view(video, t) -> (crop, box in it, inputs), attend(inputs) -> [S, S]) of a DAT workdir."""
    net = DATNet(num_domains=1, **{k: tuple(v) if isinstance(v, list) else v
                                   for k, v in cfg.model.kwargs.to_dict().items()})
    params = dict(checkpoint.restore_variables(w, -1)["params"])
    params["fc6_kernel"], params["fc6_bias"] = params["fc6_kernel"][:1], params["fc6_bias"][:1]
    rois = pipeline_rois.RoiConfig(**cfg.data.rois.to_dict())

    def view(video, t):
        box = video.boxes[t] if np.isfinite(video.boxes[t]).all() else video.boxes[0]
        matrix = crops.crop_matrix(box, crop_side(box, rois.target_frac), rois.crop_size)
        image = crops.warp_crop(video.frames[t], matrix, rois.crop_size)
        target = boxes.transform_box(box, matrix)
        return image, target, (image, target)

    return ("dat", rois.crop_size, rois.target_frac), view, lambda x: attention(net, params, *x, cfg.task.normalize)


def siamese_model(w: str, cfg):
    """(crop kind, view, attend) of a Siamese training workdir: the tracker's search crop at frame t (centred on
    the previous frame's box, the template from frame 0) and its task's attention map."""
    task = families.get(cfg.model.name).make_task(cfg)
    variables = checkpoint.restore_variables(w, -1)
    pairs = pipeline_pairs.PairConfig(**config_lib.known_fields(
        {k: v for k, v in cfg.data.pairs.to_dict().items() if k in ("template_size", "search_size", "context")},
        pipeline_pairs.PairConfig, "config.data.pairs"))
    attend = jax.jit(task.attention)

    def crop(image, box, centre_box, size):
        side = crops.crop_side(centre_box, size, context=pairs.context, template_size=pairs.template_size)
        matrix = crops.crop_matrix(centre_box, side, size)
        return crops.warp_crop(image, matrix, size), boxes.transform_box(box, matrix)

    def view(video, t):
        box = video.boxes[t] if np.isfinite(video.boxes[t]).all() else video.boxes[0]
        prev = video.boxes[t - 1] if np.isfinite(video.boxes[t - 1]).all() else box
        template, z_box = crop(video.frames[0], video.boxes[0], video.boxes[0], pairs.template_size)
        search, target = crop(video.frames[t], box, prev, pairs.search_size)
        batch = {"template": template[None], "search": search[None], "template_box": np.float32(z_box)[None],
                 "search_box": np.float32(target)[None], "negative": np.zeros(1, bool)}
        return search, target, batch

    return ("siamese", pairs.template_size, pairs.search_size, pairs.context), view, \
        lambda b: np.asarray(attend(variables, b))[0]


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit(f"usage: python -m jaxtrack.eval.dat_attention OUT.png WORKDIR [WORKDIR ...] (got {argv[1:]})")
    out, workdirs = argv[1], argv[2:]
    models = []
    for w in workdirs:
        cfg = jt_workdir.read_config(w)
        if cfg.model.name != "dat" and cfg.model.name not in families.REGISTRY:
            sys.exit(f"dat_attention: {w} holds model {cfg.model.name!r}; expected 'dat' or a Siamese family "
                     f"{sorted(families.REGISTRY)}")
        models.append((w, *(dat_model if cfg.model.name == "dat" else siamese_model)(w, cfg)))
    kinds = [m[1] for m in models]
    crop_cols = [i for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]]  # a crop column per run of a kind
    videos = synthetic.make_videos(4, seed=0, split="test")
    ncols = len(models) + len(crop_cols)
    fig, axes = plt.subplots(len(videos), ncols, figsize=(2.6 * ncols, 2.6 * len(videos)), squeeze=False)
    for row, video in enumerate(videos):
        t = len(video) // 2
        col = 0
        for i, (name, _, view, attend) in enumerate(models):
            image, target, inputs = view(video, t)
            x, y, w, h = target
            if i in crop_cols:
                axes[row, col].imshow(image)
                axes[row, col].add_patch(plt.Rectangle((x, y), w, h, fill=False, color="lime"))
                axes[row, col].set_title(f"{video.name} t={t}", fontsize=8)
                col += 1
            a = attend(inputs)
            inside = a[boxes.box_mask(target, a.shape).astype(bool)]
            cv = float(inside.std() / max(inside.mean(), 1e-12)) if inside.size else float("nan")
            axes[row, col].imshow(a / max(a.max(), 1e-12), cmap="inferno")
            axes[row, col].add_patch(plt.Rectangle((x, y), w, h, fill=False, color="cyan"))
            axes[row, col].set_title(f"{name.rstrip('/').split('/')[-1]}\nsigma/mu in box {cv:.2f}", fontsize=8)
            col += 1
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    write_atomic(out, buf.getvalue())
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
