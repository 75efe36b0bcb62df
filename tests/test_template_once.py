"""The template branch runs once per video (issue #15, "Speed"): every head has a `template` and a `track` step.

- The variable trees (names, shapes) are exactly those of the single-pass heads the steps replaced: digests of
  the sorted `path shape` lines, generated from the code before the split (commit fc89b34), at tiny and zoo sizes.
- `track(x, template(z, box))` == `__call__(z, x, box)` for every registered family (ACM with its box), and for the
  impl="pallas" fused ACM path (interpret mode on CPU), itself equal to impl="xla_conv".
- The jitted per-frame tracker step runs the search branch only: its convolutions are the backbone's, the neck's
  and the heads' search-side ones (counted from the parameter tree, one per kernel plus one correlation per
  branch), and it reads none of the template-side parameters (template convs, ACM theta_z / bias / box MLP).
"""

import hashlib

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import families
from jaxtrack.models import conv
from jaxtrack.track import siamese

TINY_RESNET = {"backbone": "resnet18_small_atrous", "neck_channels": 8, "backbone_args": {"stage_sizes": (1, 1, 1, 1)},
               "impl": "xla_conv"}
TINY = {  # family: (model kwargs, template size, search size), as tests/test_train_tasks.py's
    "siamfc": ({"backbone_args": {"width_mult": 0.125, "groups": 1}, "impl": "xla_conv"}, 127, 175),
    "siamrpn": ({"backbone_args": {"width_mult": 0.125}, "impl": "xla_conv"}, 127, 175),
    **{name: (TINY_RESNET, 63, 167) for name in ("siamrpnpp", "siamrpnpp_acm", "siamban", "siamban_acm")},
    **{name: ({**TINY_RESNET, "mask_size": 15, "refine_sizes": (29, 15, 7), "refine_out": 63}, 63, 167)
       for name in ("siammask", "siammask_acm")},
}
ALEX_DW = {"backbone": "alexnet", "layers": ("layer5",), "neck_channels": None, "anchor_num": 5, "weighted": False}
MOBILEV2 = {"backbone": "mobilenetv2", "backbone_args": {"width_mult": 1.4, "used_layers": (3, 5, 7)},
            "layers": ("layer3", "layer5", "layer7"), "neck_channels": 256, "anchor_num": 5, "weighted": False}
ZOO = {  # case: (family, model kwargs, search size) at template 127: the pysot / SiamBAN zoo models
    "siamrpnpp_r50": ("siamrpnpp", {}, 255), "siamban_r50": ("siamban", {}, 255),
    "siamrpnpp_acm_r50": ("siamrpnpp_acm", {}, 255), "siamban_acm_r50": ("siamban_acm", {}, 255),
    "siamrpnpp_alex": ("siamrpnpp", ALEX_DW, 287), "siamrpnpp_mobilev2": ("siamrpnpp", MOBILEV2, 255),
    "siamrpn_alex": ("siamrpn", {}, 255), "siamfc_alex": ("siamfc", {}, 255),
}
TREES = {  # case: (leaves, digest) of `tree_lines(variables)` before the split (fc89b34)
    "siamfc": (27, "6d3f0c2838afc8f1"), "siamrpn": (40, "0ef0b00a7622622e"), "siamrpnpp": (179, "06c2716bab2718ed"),
    "siamrpnpp_acm": (341, "9fb6ba9ef9ee1687"), "siamban": (180, "637392bebb33a01b"),
    "siamban_acm": (342, "77c1b301d015cb8d"), "siamrpnpp_r50": (384, "142a0bbc8d2867dc"),
    "siamban_r50": (385, "1a6180f4dca51270"), "siamrpnpp_acm_r50": (546, "d06c180a0b720610"),
    "siamban_acm_r50": (547, "efbc7ce7e532343f"), "siamrpnpp_alex": (64, "d2ed246cd60b9c2b"),
    "siamrpnpp_mobilev2": (377, "e118585c4552add5"), "siamrpn_alex": (40, "479e8ccff5d9cb69"),
    "siamfc_alex": (27, "4e03303805bbae9e"),
}
TEMPLATE_SIDE = ("conv_kernel", "template_conv")  # the heads' template-branch convolutions (module names)
ACM_TEMPLATE_SIDE = ("theta_z", "bias", "box")  # AsymmetricFusion's template term (under "fusion")


def case(name: str):
    """(model, template size, search size) of a TINY family or a ZOO case."""
    if name in TINY:
        kwargs, z, x = TINY[name]
        return families.get(name).build(**kwargs), z, x
    family, kwargs, x = ZOO[name]
    return families.get(family).build(**kwargs), 127, x


def abstract_variables(model, z: int, x: int, b: int = 1):
    s = lambda *shape: jax.ShapeDtypeStruct(shape, jnp.float32)
    return jax.eval_shape(model.init, jax.random.key(0), s(b, z, z, 3), s(b, x, x, 3), s(b, 2))


def path_str(path) -> str:
    return "/".join(str(k.key) for k in path)


def tree_lines(tree) -> list[str]:
    return sorted(f"{path_str(p)} {tuple(a.shape)}" for p, a in jax.tree_util.tree_flatten_with_path(tree)[0])


def digest(lines: list[str]) -> tuple[int, str]:
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def random_variables(shapes, seed=0):
    """N(0, 0.1^2) everywhere (BN variances in [0.5, 0.9]); no init compile."""
    r = np.random.default_rng(seed)

    def fill(path, s):
        v = r.standard_normal(s.shape).astype(np.float32) * 0.1
        return jnp.asarray(np.abs(v) + 0.5 if path[-1].key == "var" else v)

    return jax.tree.map_with_path(fill, shapes)


@pytest.mark.parametrize("name", list(TREES))
def test_variable_tree_is_unchanged(name):
    model, z, x = case(name)
    lines = tree_lines(abstract_variables(model, z, x))
    assert digest(lines) == TREES[name], "\n".join(lines)


def two_ways(model, variables, z, x, box):
    template = model.apply(variables, z, box, method="template")
    return model.apply(variables, x, template, method="track"), model.apply(variables, z, x, box)


def inputs(z: int, x: int, seed: int = 1):
    r = np.random.default_rng(seed)
    img = lambda s: jnp.asarray(r.uniform(-1, 1, (2, s, s, 3)), jnp.float32)
    return img(z), img(x), jnp.asarray([[40.0, 20.0], [12.0, 30.0]])


@pytest.mark.parametrize("name", families.names())
def test_track_of_template_equals_call(name):
    model, zs, xs = case(name)
    variables = random_variables(abstract_variables(model, zs, xs, 2))
    z, x, box = inputs(zs, xs)
    tracked, called = jax.jit(lambda v: two_ways(model, v, z, x, box))(variables)
    assert set(tracked) == set(called) and np.std(np.asarray(called["cls"])) > 0
    for (path, got), want in zip(jax.tree_util.tree_flatten_with_path(tracked)[0], jax.tree.leaves(called),
                                 strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5,
                                   err_msg=jax.tree_util.keystr(path))
    if name.endswith("_acm"):  # the box reaches the precomputed template term
        other = jax.jit(lambda v: model.apply(v, x, model.apply(v, z, box * 2, method="template"), method="track"))
        assert not np.allclose(np.asarray(other(variables)["cls"]), np.asarray(called["cls"]))


def test_pallas_acm_track_of_template_equals_call_and_xla():
    """SiamBAN-ACM with the fused Pallas epilogue (BN folded, interpret mode on CPU) in the search step."""
    kwargs, zs, xs = TINY["siamban_acm"]
    pallas = families.get("siamban_acm").build(**{**kwargs, "impl": "pallas"})
    xla = families.get("siamban_acm").build(**kwargs)
    variables = random_variables(abstract_variables(xla, zs, xs, 2))
    z, x, box = inputs(zs, xs)
    (tracked, called), (_, want) = jax.jit(lambda v: (two_ways(pallas, v, z, x, box), two_ways(xla, v, z, x, box)))(
        variables)
    for k in want:
        np.testing.assert_allclose(np.asarray(tracked[k]), np.asarray(called[k]), rtol=1e-5, atol=1e-5, err_msg=k)
        np.testing.assert_allclose(np.asarray(tracked[k]), np.asarray(want[k]), rtol=1e-5, atol=1e-5, err_msg=k)
    step = jax.make_jaxpr(lambda v, x, t: pallas.apply(v, x, t, method="track"))(
        variables, x, pallas.apply(variables, z, box, method="template"))
    assert count_primitive(step.jaxpr, "pallas_call") == 6  # one fused epilogue per ACM branch (3 layers x 2)


# ----------------------------------------------------------------------------------------------------
# The per-frame step


def count_primitive(jaxpr, name: str) -> int:
    """Occurrences of primitive `name` in `jaxpr`, sub-jaxprs (pjit, custom_vjp, ...) counted at every call."""
    n = 0
    for eqn in jaxpr.eqns:
        n += eqn.primitive.name == name
        for param in eqn.params.values():
            for sub in param if isinstance(param, tuple | list) else (param,):
                sub = getattr(sub, "jaxpr", sub)
                if hasattr(sub, "eqns"):
                    n += count_primitive(sub, name)
    return n


def n_kernels(tree, skip=()) -> int:
    """4-D conv kernels in a parameter tree, those under modules named in `skip` left out."""
    return sum(1 for p, a in jax.tree_util.tree_flatten_with_path(tree)[0]
               if p[-1].key == "kernel" and a.ndim == 4 and not {k.key for k in p} & set(skip))


def conv_counts(params) -> tuple[int, int, int]:
    """(image, search, template) convolution counts from the parameter tree: every backbone / neck kernel once per
    image; every head kernel once, those of TEMPLATE_SIDE modules on the template side, the others and one
    correlation (DW / UP / XCorr, ACM's theta_x) per branch on the search side (SiamMask's mask branch is one more
    branch). ACM's theta_z term and box MLP are
    matmuls, not convolutions."""
    image = n_kernels(params["backbone"]) + n_kernels(params.get("neck", {}))
    branches = [b for b in params["head"].values() if isinstance(b, dict)] + ([params["mask_head"]]
                                                                             if "mask_head" in params else [])
    search = sum(n_kernels(b, TEMPLATE_SIDE) + 1 for b in branches)
    return image, search, sum(n_kernels(b) - n_kernels(b, TEMPLATE_SIDE) for b in branches)


def template_side(path) -> bool:
    keys = [str(k.key) for k in path]
    fusion = keys[keys.index("fusion") + 1:][:1] if "fusion" in keys else []
    return bool(set(keys) & set(TEMPLATE_SIDE)) or bool(set(fusion) & set(ACM_TEMPLATE_SIDE))


@pytest.mark.parametrize("name", families.names())
def test_step_runs_the_search_branch_only(name):
    model, zs, xs = case(name)
    family = families.get(name)
    config = family.tracker_config(overrides={"exemplar_size": zs, "instance_size": xs})
    variables = abstract_variables(model, zs, xs)
    frame = jax.ShapeDtypeStruct((120, 160, 3), jnp.uint8)
    state = jax.eval_shape(lambda v, f: siamese.init_state(model, config, v, f, jnp.float32([50, 40, 30, 20])),
                           variables, frame)
    z, x, box = (jax.ShapeDtypeStruct(s, jnp.float32) for s in ((1, zs, zs, 3), (1, xs, xs, 3), (1, 2)))
    with conv.default_impl("xla"):  # every conv as XLA's convolution (inference picks faster forms)
        step = jax.make_jaxpr(lambda v, s, f: siamese.step(model, config, v, s, f))(variables, state, frame)
        call = jax.make_jaxpr(lambda v, z, x, box: model.apply(v, z, x, box))(variables, z, x, box)
    image, search, template = conv_counts(variables["params"])
    assert count_primitive(call.jaxpr, "conv_general_dilated") == 2 * image + search + template  # the count's model
    assert count_primitive(step.jaxpr, "conv_general_dilated") == image + search  # the search branch only
    assert template > 0 or name == "siamfc"  # (SiamFC's template state is the features themselves)

    read = {v for eqn in step.jaxpr.eqns for v in eqn.invars if isinstance(v, jax.extend.core.Var)}
    leaves = jax.tree_util.tree_flatten_with_path(variables)[0]
    used = {path_str(p): invar in read for (p, _), invar in zip(leaves, step.jaxpr.invars[:len(leaves)],
                                                                  strict=True)}
    flags = {p: template_side(k) for (k, _), p in zip(leaves, used, strict=True)}
    assert not [p for p, u in used.items() if u and flags[p]], "the step reads template-side parameters"
    assert all(u for p, u in used.items() if p.startswith("params/head") and not flags[p])


def test_track_rejects_a_mismatched_template_state():
    model, zs, xs = case("siamrpnpp")
    variables = abstract_variables(model, zs, xs)
    z, x, box = (jax.ShapeDtypeStruct(s, jnp.float32) for s in ((1, zs, zs, 3), (2, xs, xs, 3), (1, 2)))
    template = jax.eval_shape(lambda v, z, box: model.apply(v, z, box, method="template"), variables, z, box)
    track = lambda v, x, t: model.apply(v, x, t, method="track")
    with pytest.raises(ValueError, match="batch"):
        jax.eval_shape(track, variables, x, template)
    x1 = jax.ShapeDtypeStruct((1, xs, xs, 3), jnp.float32)
    with pytest.raises(ValueError, match="template state"):
        jax.eval_shape(track, variables, x1, {"rpn2_cls": template["rpn2_cls"]})
