"""Trackers' per-frame functions through `jax.export` (serialize -> deserialize -> call == jit), and the
ACM claim read off the exported StableHLO: every convolution kernel is a parameter, none is computed at run
time from the template (DW-Corr's grouped convolution, the positive control, has such a kernel)."""

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import families
from jaxtrack.models import conv
from tests.test_models_heads import BOX, X, Z, random_variables

pytest.importorskip("flatbuffers", reason="jax.export serialization needs flatbuffers")

SMALL_RESNET = {"backbone": "resnet18_small_atrous", "neck_channels": 8, "backbone_args": {"stage_sizes": (1, 1, 1, 1)},
                "impl": "xla_conv"}
CASES = {
    "siamfc": {"backbone_args": {"width_mult": 0.25}},
    "siamrpnpp": SMALL_RESNET,
    "siamban_acm": SMALL_RESNET,
}


@functools.cache
def exported(name):
    """(exported track(variables, x_img, template), its arguments, the jitted function)."""
    model = families.get(name).build(**CASES[name])
    r = np.random.default_rng(0)
    z, x = (jnp.asarray(r.uniform(-1, 1, s), jnp.float32) for s in (Z, X))
    box = jnp.asarray(r.uniform(20, 100, BOX), jnp.float32)
    variables = random_variables(jax.eval_shape(model.init, jax.random.key(0), z, x, box))
    template = jax.jit(lambda v, z, box: model.apply(v, z, box, method="template"))(variables, z, box)

    def track(v, x, template):
        with conv.default_impl("xla"):  # XLA's convolutions, as export_tracker writes them (portable forms)
            return model.apply(v, x, template, method="track")

    track = jax.jit(track)
    args = (variables, x, template)
    return jax.export.export(track)(*args), args, track


@pytest.mark.parametrize("name", sorted(CASES))
def test_track_exports_and_round_trips(name):
    exp, args, track = exported(name)
    restored = jax.export.deserialize(exp.serialize())
    got, want = restored.call(*args), track(*args)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6)


_FUNC = re.compile(r"func\.func \w+ @([\w.$-]+)\(")
_CALL = re.compile(r"\bcall @([\w.$-]+)\(([^)]*)\)")
_VALUE = re.compile(r"%[\w]+")


def runtime_kernel_convolutions(mlir: str, n_static: int) -> list[str]:
    """The `stablehlo.convolution` lines whose kernel (second operand) depends on a runtime input: an argument
    of @main from position `n_static` on (here: the search image and the template), through any chain of ops
    and calls. A taint analysis over the module text, iterated to a fixed point across functions."""
    funcs, current = {}, None
    for line in mlir.splitlines():
        m = _FUNC.search(line)
        if m:
            current = funcs.setdefault(m.group(1), {"args": re.findall(r"%arg\d+", line), "body": []})
        elif current is not None:
            current["body"].append(line)
    arg_taint = {f: [f == "main" and i >= n_static for i in range(len(d["args"]))] for f, d in funcs.items()}
    ret_taint = dict.fromkeys(funcs, False)
    changed = True
    while changed:
        changed, found = False, []
        for f, d in funcs.items():
            tainted = {a for a, t in zip(d["args"], arg_taint[f]) if t}
            for line in d["body"]:
                lhs, sep, rhs = line.partition(" = ")
                uses = {u.split("#")[0] for u in _VALUE.findall(rhs if sep else line)}
                call = _CALL.search(rhs) if sep else None
                if call:
                    for i, op in enumerate(_VALUE.findall(call.group(2))):
                        if op in tainted and not arg_taint[call.group(1)][i]:
                            arg_taint[call.group(1)][i] = changed = True
                    hot = ret_taint[call.group(1)]
                else:
                    hot = bool(uses & tainted)
                if sep and hot:
                    tainted.update(v.split(":")[0] for v in _VALUE.findall(lhs))
                if line.strip().startswith("return") and hot and not ret_taint[f]:
                    ret_taint[f] = changed = True
                conv = re.search(r"stablehlo\.convolution\((%[\w#]+), (%[\w#]+)\)", line)
                if conv and conv.group(2).split("#")[0] in tainted:
                    found.append(line.strip())
    return found


def test_acm_path_has_no_runtime_kernels():
    exp, args, _ = exported("siamban_acm")
    mlir = exp.mlir_module()
    n_static = sum(i < len(jax.tree.leaves(args[0])) for i in exp.module_kept_var_idx)  # unused inputs dropped
    assert mlir.count("stablehlo.convolution") > 20  # backbone, neck, ACM fusion and head convs are all there
    assert runtime_kernel_convolutions(mlir, n_static) == []


def test_dw_corr_has_runtime_kernels():
    """The positive control: DW-Corr (`impl="xla_conv"`) convolves with a kernel computed from the template."""
    exp, args, _ = exported("siamrpnpp")
    n_static = sum(i < len(jax.tree.leaves(args[0])) for i in exp.module_kept_var_idx)  # unused inputs dropped
    found = runtime_kernel_convolutions(exp.mlir_module(), n_static)
    assert len(found) == 3 * 2  # one per layer and branch (cls, loc)
    assert all("feature_group_count = 1 " not in line for line in found)
