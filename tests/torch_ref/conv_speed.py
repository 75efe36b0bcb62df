"""Every convolution of a zoo model's per-frame step, timed alone: torch (oneDNN) against each jaxtrack conv form.

    python -m tests.torch_ref.conv_speed [--models=alex,mobilev2,r50,siamban] [--rounds=8] [--threads=2]

The convolutions are read off the traced search branch (`models.conv.default_impl("xla")`: every conv one
`conv_general_dilated`), identical ones counted once. For each: GFLOP, torch's time and rate, then the time of each
form of `ops.conv` that applies (min over `rounds` alternating passes, inputs uniform [0, 1), weights scaled by
1/sqrt(fan-in)); `auto` is the form `impl="auto"` picks. Totals: the model's convolutions (count-weighted) in torch,
in XLA's conv, in the auto forms and in the fastest form of each conv.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import time

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import torch

from jaxtrack import families
from jaxtrack.models import conv
from jaxtrack.ops import conv as conv_ops
from tests.torch_ref.speed import ZOO

SHORT = dict(zip(("alex", "mobilev2", "r50", "siamban"), ZOO))


def model_convs(name: str) -> collections.Counter:
    """Counter of (x shape, w shape, strides, padding, dilation, groups) over the convs of `name`'s track step."""
    config = importlib.import_module(f"experiments.{name}").get_config()
    model = families.get(config.model.name).build(**config.model.kwargs.to_dict())
    zs, xs = config.track.get("exemplar_size", 127), config.track.get("instance_size", 255)
    z, x, box = (jax.ShapeDtypeStruct(s, jnp.float32) for s in ((1, zs, zs, 3), (1, xs, xs, 3), (1, 2)))
    variables = jax.eval_shape(model.init, jax.random.key(0), z, x, box)
    template = jax.eval_shape(lambda v, z, box: model.apply(v, z, box, method="template"), variables, z, box)
    with conv.default_impl("xla"):
        jaxpr = jax.make_jaxpr(lambda v, t, x: model.apply(v, x, t, method="track"))(variables, template, x)
    found = collections.Counter()

    def walk(jpr):
        for eqn in jpr.eqns:
            if eqn.primitive.name == "conv_general_dilated":
                p = eqn.params
                found[(eqn.invars[0].aval.shape, eqn.invars[1].aval.shape, p["window_strides"],
                       tuple(map(tuple, p["padding"])), p["rhs_dilation"], p["feature_group_count"])] += 1
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(jaxpr.jaxpr)
    return found


def time_conv(key, forms, rounds: int) -> dict[str, float]:
    """ms of torch and of each applicable form for one conv (x NHWC, w HWIO as traced)."""
    x_shape, w_shape, strides, padding, dilation, groups = key
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[:3]))).astype(np.float32)
    xt, wt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(w.transpose(3, 2, 0, 1).copy())
    pads = (padding[0][0], padding[1][0])
    runs = {"torch": lambda: torch.nn.functional.conv2d(xt, wt, None, strides, pads, dilation, groups)}
    xj, wj = jnp.asarray(x), jnp.asarray(w)
    for form in forms:
        try:
            prepared = conv_ops.winograd_weights(wj, conv_ops.WINOGRAD_TILE[form]) \
                if form in conv_ops.WINOGRAD_TILE else None
            fn = jax.jit(lambda x, p, form=form: conv_ops.conv2d(x, wj, strides, padding, dilation, groups,
                                                                 impl=form, prepared=p))
            fn(xj, prepared).block_until_ready()
        except ValueError:  # the form does not apply to this conv
            continue
        runs[form] = lambda fn=fn, p=prepared: fn(xj, p).block_until_ready()
    best = dict.fromkeys(runs, np.inf)
    with torch.no_grad():
        for _ in range(rounds):
            for form, run in runs.items():
                start = time.perf_counter()
                run()
                best[form] = min(best[form], time.perf_counter() - start)
    return {form: t * 1e3 for form, t in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.torch_ref.conv_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(SHORT))
    parser.add_argument("--forms", default=",".join(conv_ops.CONV_FORMS))
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    forms = args.forms.split(",")
    for short in args.models.split(","):
        name = SHORT.get(short, short)
        totals = collections.Counter()
        print(f"\n{name}: x -> w (strides, dilation, groups) x count | GFLOP | torch ms (GFLOP/s) | forms ms (GFLOP/s)")
        for key, count in sorted(model_convs(name).items(), key=lambda kv: -np.prod(kv[0][1]) * kv[1]):
            x_shape, w_shape, strides, _, dilation, groups = key
            times = time_conv(key, forms, args.rounds)
            out_hw = [(x_shape[1 + a] + sum(key[3][a]) - dilation[a] * (w_shape[a] - 1) - 1) // strides[a] + 1
                      for a in (0, 1)]
            gflop = 2 * np.prod(out_hw) * np.prod(w_shape) / 1e9
            auto = conv_ops.auto_form(w_shape, strides, groups, out_pixels=x_shape[0] * int(np.prod(out_hw)))
            cells = " ".join(f"{f} {t:.2f} ({gflop / t * 1e3:.0f})" for f, t in times.items() if f != "torch")
            print(f"  {x_shape[1:]} -> {w_shape} ({strides[0]}, {dilation[0]}, {groups}) x{count} | {gflop:.3f} | "
                  f"{times['torch']:.2f} ({gflop / times['torch'] * 1e3:.0f}) | {cells} | auto {auto}", flush=True)
            forms_only = {f: t for f, t in times.items() if f != "torch"}
            totals.update({"GFLOP": gflop * count, "torch": times["torch"] * count, "xla": times["xla"] * count,
                           "auto": times[auto] * count, "best": min(forms_only.values()) * count})
        print(f"  total: {totals['GFLOP']:.2f} GFLOP; ms: torch {totals['torch']:.1f}, xla {totals['xla']:.1f}, "
              f"auto {totals['auto']:.1f}, best form per conv {totals['best']:.1f}", flush=True)


if __name__ == "__main__":
    main()
