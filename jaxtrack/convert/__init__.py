"""PyTorch checkpoints (pysot / SiamBAN model zoo, ImageNet backbones) -> jaxtrack Flax variables.

    state = convert.load_state_dict("model.pth")                      # torch key -> np.ndarray (needs torch)
    variables = convert.convert(state, "siamrpnpp", kwargs)             # {"params", "batch_stats"} of the model
    backbone = convert.convert(state, "siamrpnpp", kwargs, kind="backbone")   # the backbone subtrees only

The key mapping is data: `convert.tables` (one table per backbone / neck / head, chosen from the modules the
model is built of), applied by `convert.mapping`. The result has exactly the tree, shapes and dtypes of
`families.get(name).build(**kwargs).init(...)`; any key left over on either side, or any shape mismatch, raises
`ConversionError` naming the keys. pysot feeds BGR images: `bgr_to_rgb=True` (default) flips the input channels
of the stem conv so the converted model takes jaxtrack's RGB frames. `--mode=convert` (`jaxtrack.modes.convert`)
writes the result into a workdir.

Sources: pysot `ModelBuilder` checkpoints (backbone / neck / rpn_head: siamrpn_alex_dwxcorr, siamrpn_r50_l234_dwxcorr
(_otb), siamrpn_mobilev2_l234_dwxcorr) and SiamBAN's (backbone / neck / head: siamban_r50_l234(_otb)), as plain
state_dicts or training snapshots ({"state_dict": ...}, "module." prefixes). Backbones: pysot's layouts
(resnet50.model, alexnet-bn.pth, AlexNetLegacy / AlexNet / MobileNetV2 keys), torchvision's resnet (its 1x1
shortcuts centred in pysot's 3x3 ones) and mobilenet_v2 (width 1.0), both initialisations rather than the same
network (pysot's strided convs are unpadded). Layouts: torch OIHW convs -> HWIO, BN weight / bias -> params scale /
bias, running_mean / var -> batch_stats mean / var (`convert.mapping`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack import families
from jaxtrack.convert import tables
from jaxtrack.convert.mapping import ConversionError, apply_table
from jaxtrack.convert.torch_io import INSTALL, load_state_dict

KINDS = ("model", "backbone")


def _init_args(exemplar: int, instance: int):
    return (jax.random.key(0), jnp.zeros((1, exemplar, exemplar, 3)), jnp.zeros((1, instance, instance, 3)),
            jnp.ones((1, 2)))


_MODELS: dict[str, tuple] = {}  # repr of (family, kwargs, sizes) -> (model, variable shapes): tracing costs ~0.5 s


def _model(family: str, kwargs: dict, sizes: tuple[int, int]):
    """(model, variable shapes) of `family` built with `kwargs`, traced at template / search `sizes`."""
    key = repr((family, sorted(kwargs.items()), tuple(sizes)))
    if key not in _MODELS:
        model = families.get(family).build(**kwargs)
        if len(_MODELS) >= 8:
            _MODELS.clear()
        _MODELS[key] = model, jax.eval_shape(model.init, *_init_args(*sizes))
    return _MODELS[key]


def _flat(tree) -> dict[tuple[str, ...], tuple]:
    return {tuple(k.key for k in path): (leaf.shape, leaf.dtype)
            for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _hint(table: tables.BackboneTable, state: Mapping) -> str:
    for pattern, why in table.hints:
        if any(re.search(pattern, k) for k in state):
            return f"\nhint: {why}"
    return ""


def convert(state: Mapping[str, np.ndarray], family: str, kwargs: Mapping | None = None, *, kind: str = "model",
            skip: Sequence[str] = (), bgr_to_rgb: bool = True, sizes: tuple[int, int] = (127, 255)) -> dict:
    """Flax variables of `families.get(family).build(**kwargs)` from a torch state_dict.

    Args:
      state: torch key -> array (`load_state_dict`); "module." prefixes already removed.
      kind: "model" (a zoo checkpoint: backbone / neck / head) -> {"params", "batch_stats"} of the whole model;
        "backbone" (an ImageNet file in pysot's or torchvision's layout, or a zoo checkpoint's `backbone.*` keys) ->
        {"params", "batch_stats"} of the backbone subtree (`model.init_from`). Classifier keys (`fc.*`) are
        dropped; leaves a torchvision layout lacks get the table's `fills`.
      skip: regexes (re.search) of torch keys to ignore and of flax paths ("params/head/cls_weight") to leave at
        their initial values.
      bgr_to_rgb: flip the stem conv's input channels (pysot / SiamBAN were trained on BGR frames).
      sizes: template / search sizes the model is traced at (any the model accepts).
    Raises:
      ConversionError: unmatched, missing or misshapen keys (all listed), KeyError: no table for the model.
    """
    if kind not in KINDS:
        raise ValueError(f"convert.kind must be one of {KINDS}, got {kind!r}")
    model, shapes = _model(family, dict(kwargs or {}), sizes)
    rules, bb = tables.model_table(model)
    if kind == "backbone":
        shapes = {col: shapes[col]["backbone"] for col in shapes if "backbone" in shapes[col]}
        if any(k.startswith("backbone.") for k in state):  # a whole zoo model: its backbone
            state = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
        bb = next((t for pattern, t in bb.variants if any(re.search(pattern, k) for k in state)), bb)
        rules = bb.rules
        skip = (*skip, *bb.ignore, *(f"^{re.escape(path)}$" for path, _ in bb.fills))
    flat = _flat(shapes)
    try:
        filled, unfilled = apply_table(state, rules, flat, skip)
    except ConversionError as e:
        raise ConversionError(str(e) + _hint(bb, state)) from None
    for path, fill in bb.fills if kind == "backbone" else ():
        key = tuple(path.split("/"))
        filled[key] = tables.backbones.FILLS[fill](flat[key][0])
        unfilled.remove(key)
    if unfilled:  # their initial values; jit drops the forward pass and every other initialiser
        def pick(key):
            v = model.init(key, *_init_args(*sizes)[1:])
            v = v if kind == "model" else {c: v[c]["backbone"] for c in shapes}
            return [functools.reduce(lambda d, k: d[k], p, v) for p in unfilled]
        filled.update(zip(unfilled, (np.asarray(a) for a in jax.jit(pick)(jax.random.key(0)))))
    if bgr_to_rgb:
        stem = ("params", *(() if kind == "backbone" else ("backbone",)), *bb.stem.split("/"))
        filled[stem] = filled[stem][:, :, ::-1, :].copy()
    return jax.tree_util.tree_map_with_path(
        lambda p, leaf: jnp.asarray(filled[tuple(k.key for k in p)], leaf.dtype), shapes)


def convert_file(path, family: str, kwargs: Mapping | None = None, **options) -> dict:
    """`convert(load_state_dict(path), family, kwargs, **options)`."""
    return convert(load_state_dict(path), family, kwargs, **options)


__all__ = ["INSTALL", "KINDS", "ConversionError", "convert", "convert_file", "load_state_dict"]
