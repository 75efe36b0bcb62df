"""Operator microbenchmarks: every op x impl x shape x batch x dtype, with roofline and a PyTorch column.

    python -m kernels.bench                                   # default grid, markdown to stdout
    python -m kernels.bench --batches=1,8 --dtypes=float32 --vs_torch --out_json=/tmp/b.json
    python -m kernels.bench --write_auto_table                # re-measure the impl="auto" choices
    python launch.py --experiment=temporal_bench --workdir=runs/tbench   # TRN at K=8: sampled vs every tuple

Each timing: warm-up (compile), then runs with `block_until_ready`, median and min. GFLOP/s counts the
multiply-adds of the direct formulation (2 flops each); GB/s counts the unavoidable traffic (inputs read
once, output written once); % roofline = the roofline time bound / the median.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import time
import types

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from etils import epath

from jaxtrack import ops
from jaxtrack.files import write_atomic
from jaxtrack.ops import registry
from kernels import roofline, torch_peer

SHAPES = {  # name -> (ops, template side, search side, C, K or P); roi_align: (ops, Ho = Wo, map side, C, N RoIs)
    "siamfc": (("xcorr", "dw_xcorr"), 6, 22, 256, 1),
    "siamrpnpp": (("xcorr", "dw_xcorr"), 7, 31, 256, 1),
    "siamrpn_up": (("up_xcorr",), 4, 20, 256, 10),
    "acm_search": (("asym_conv",), 5, 29, 256, 256),
    "acm_template": (("asym_conv",), 5, 5, 256, 256),
    "roi_107": (("roi_align",), 3, 14, 512, 256),  # MDNet: 107 px input, 1/8 stride, 3x3 bins, 256 candidates
    "roi_7x7": (("roi_align",), 7, 36, 512, 256),  # a 288 px frame crop at 1/8 stride, 7x7 bins, 256 candidates
}
ROI_STRIDE = 8  # roi_align cases: boxes in pixels of a (map side * 8) image, adaptive sampling, aligned=True
ROI_MAX_BATCH = 8  # roi_align: B frames of N RoIs each; larger B is no tracker's load (and needs GBs)
BENCH_OPS = (*ops.OPS, "roi_align")

FLAGS = flags.FLAGS
flags.DEFINE_list("shapes", list(SHAPES), f"Shape presets: {list(SHAPES)}.")
flags.DEFINE_list("ops", list(BENCH_OPS), "Operators to time.")
flags.DEFINE_list("impls", [], "Implementations (default: every registered one but 'reference', and "
                  "'pallas' on CPU).")
flags.DEFINE_list("batches", ["1", "8", "32", "128"], "Batch sizes.")
flags.DEFINE_list("dtypes", ["float32", "bfloat16"], "Input dtypes.")
flags.DEFINE_integer("runs", 10, "Timed runs per case (fewer when a run exceeds --budget_s / runs).")
flags.DEFINE_float("budget_s", 2.0, "Rough time budget per case; slow cases get fewer runs.")
flags.DEFINE_float("skip_over_ms", 3000.0, "Skip an impl at larger batches once it exceeded this median.")
flags.DEFINE_bool("vs_torch", False, "Add pysot's PyTorch formulation as a column (needs torch).")
flags.DEFINE_integer("torch_threads", 0, "torch.set_num_threads (0: number of CPU cores).")
flags.DEFINE_string("out_json", None, "Write all results as JSON here.")
flags.DEFINE_string("out_md", None, "Write the markdown table here.")
flags.DEFINE_bool("write_auto_table", False, "Store the fastest impl per case in jaxtrack/ops/auto_table.json.")


@dataclasses.dataclass
class Case:
    op: str
    shape: str
    b: int
    hz: int
    hx: int
    c: int
    k: int
    dtype: str

    def arrays(self, rng):
        n = lambda *s: rng.standard_normal(s).astype(np.float32)
        if self.op == "roi_align":  # MDNet-like candidates: centres in the middle, sides 15-50% of the image
            side = self.hx * ROI_STRIDE
            centre = rng.uniform(0.3, 0.7, (self.b, self.k, 2)) * side
            size = rng.uniform(0.15, 0.5, (self.b, self.k, 2)) * side
            boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=-1).astype(np.float32)
            return n(self.b, self.hx, self.hx, self.c), boxes
        x, z = n(self.b, self.hx, self.hx, self.c), n(self.b, self.hz, self.hz, self.c)
        if self.op == "up_xcorr":
            return x, n(self.b, self.hz, self.hz, self.k * self.c)
        if self.op == "asym_conv":
            t = lambda: n(self.hz, self.hz, self.c, self.k) / np.sqrt(self.hz * self.hz * self.c)
            return x, z, t(), t(), n(self.k)
        return x, z

    def flops(self, arrays) -> float:
        if self.op == "roi_align":  # 4 bilinear multiply-adds per sample and channel, adaptive samples per bin
            side = (arrays[1][..., 2:] - arrays[1][..., :2]) / ROI_STRIDE
            samples = np.prod(np.ceil(side / self.hz), axis=-1).sum()
            return float(2 * 4 * self.c * self.hz * self.hz * samples)
        ho = self.hx - self.hz + 1
        taps = self.b * self.hz * self.hz * self.c
        per_out = {"xcorr": 1, "dw_xcorr": 1, "up_xcorr": self.k, "asym_conv": self.k}[self.op]
        template = 2 * taps * self.k if self.op == "asym_conv" else 0
        return 2 * ho * ho * taps * per_out + template

    def device_arrays(self, host):
        """The host arrays in the case's dtype (roi_align's boxes stay float32)."""
        keep = {1} if self.op == "roi_align" else set()
        return tuple(jnp.asarray(a, np.float32 if i in keep else self.dtype) for i, a in enumerate(host))

    def bytes(self, arrays) -> float:
        item = jnp.dtype(self.dtype).itemsize
        if self.op == "roi_align":
            return item * (arrays[0].size + self.b * self.k * self.hz * self.hz * self.c) + 4 * arrays[1].size
        ho = self.hx - self.hz + 1
        out_c = {"xcorr": 1, "dw_xcorr": self.c}.get(self.op, self.k)
        return item * (sum(a.size for a in arrays) + self.b * ho * ho * out_c)


def call(case, impl):
    if case.op == "asym_conv":
        return lambda x, z, tx, tz, b: ops.asym_conv(x, z, tx, tz, b, impl=impl)
    if case.op == "roi_align":
        return lambda f, b: ops.roi_align(f, b, case.hz, spatial_scale=1 / ROI_STRIDE, aligned=True, impl=impl)
    return lambda *a: getattr(ops, case.op)(*a, impl=impl)


def default_impls(op: str) -> list[str]:
    """Every registered impl but "reference"; "pallas" only off CPU (interpret mode there: correct, slow)."""
    skip = {"reference", "pallas"} if jax.default_backend() == "cpu" else {"reference"}
    return [i for i in ops.implementations(op) if i not in skip]


def time_ms(fn, args, runs: int, budget_s: float) -> tuple[float, float]:
    """(median, min) wall-clock ms of `fn(*args)` after one warm-up call."""
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))  # compile + first run
    first = time.perf_counter() - t
    runs = max(2, min(runs, int(budget_s / max(first, 1e-6))))
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), min(times)


OPTIONS = ("shapes", "ops", "impls", "batches", "dtypes", "runs", "budget_s", "skip_over_ms", "vs_torch",
           "torch_threads", "out_json", "out_md", "write_auto_table")  # the flags above = `--mode=bench` config


def default_options() -> dict:
    """The flags' defaults as a dict (the `bench` section of `--mode=bench` configs)."""
    return {name: FLAGS[name].default for name in OPTIONS}


def cases(o):
    unknown = sorted(set(o.shapes) - set(SHAPES))
    if unknown:
        raise ValueError(f"shapes {unknown} are not presets; expected some of {list(SHAPES)}")
    for shape in o.shapes:
        op_names, hz, hx, c, k = SHAPES[shape]
        for op in (op for op in op_names if op in o.ops):
            for dtype in o.dtypes:
                for b in map(int, o.batches):
                    if op != "roi_align" or b <= ROI_MAX_BATCH:
                        yield Case(op, shape, b, hz, hx, c, k, dtype)


def run_case(o, case, peak, peers, too_slow, rng):
    """Times every impl of one case under options `o`; returns result rows."""
    host = case.arrays(rng)
    args = case.device_arrays(host)
    rows = []
    torch_ms = None
    if peers and case.dtype == "float32" and case.op in peers:
        fn, to_torch = peers[case.op]
        targs = to_torch(*host)
        with peers["_torch"].no_grad():
            torch_ms = time_ms(lambda *a: fn(*a), targs, o.runs, o.budget_s)[0]
    for impl in o.impls or default_impls(case.op):
        if (case.op, case.shape, case.dtype, impl) in too_slow:
            continue
        med, best = time_ms(jax.jit(call(case, impl)), args, o.runs, o.budget_s)
        if med > o.skip_over_ms:
            too_slow.add((case.op, case.shape, case.dtype, impl))
        flops, nbytes = case.flops(host), case.bytes(host)
        bound_s = max(flops / (peak.gflops[case.dtype] * 1e9), nbytes / (peak.gbps * 1e9))
        rows.append(dataclasses.asdict(case) | {
            "impl": impl, "median_ms": med, "min_ms": best, "gflops": flops / med / 1e6, "gbps": nbytes / med / 1e6,
            "roofline_pct": 100 * bound_s * 1e3 / med, "torch_ms": torch_ms})
    return rows


def markdown(rows) -> str:
    head = ("| op | shape | B | dtype | impl | median ms | min ms | GFLOP/s | GB/s | % roofline "
            "| torch ms | torch/ours |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        t = r["torch_ms"]
        peer = (f"{t:.2f} | {t / r['median_ms']:.2f}x") if t else " | "
        shape = (f"{r['shape']} {r['hz']}x{r['hz']} bins, map {r['hx']}, N={r['k']}" if r["op"] == "roi_align"
                 else f"{r['shape']} z{r['hz']}/x{r['hx']}")
        lines.append(f"| {r['op']} | {shape} | {r['b']} | {r['dtype']} | {r['impl']} | "
                     f"{r['median_ms']:.3f} | {r['min_ms']:.3f} | {r['gflops']:.1f} | {r['gbps']:.1f} | "
                     f"{r['roofline_pct']:.1f} | {peer} |")
    return "\n".join(lines)


def auto_entries(rows):
    """Fastest impl per (op, shape, batch, dtype) -> auto_table entries."""
    best = {}
    for r in rows:
        key = (r["op"], r["shape"], r["b"], r["dtype"])
        best.setdefault(key, []).append(r)
    out = {}
    for (op, _, b, dtype), rs in best.items():
        win = min(rs, key=lambda r: r["median_ms"])
        out.setdefault(op, []).append({
            "b": b, "hz": win["hz"], "hx": win["hx"], "c": win["c"], "k": win["k"], "dtype": dtype,
            "best": win["impl"], "ms": {r["impl"]: round(r["median_ms"], 4) for r in rs}})
    return out


def write_auto_table(rows, backend: str, device: str) -> None:
    table = json.loads(registry.TABLE_PATH.read_text()) if registry.TABLE_PATH.exists() else {}
    table[backend] = auto_entries(rows) | {"_measured": f"{device}, jax {jax.__version__}, {time.strftime('%Y-%m-%d')}"}
    registry.TABLE_PATH.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


def bench(o) -> list[dict]:
    """Runs the grid of options `o` (attributes named as the flags); prints rows as they come, writes the
    requested outputs; returns the rows."""
    peak = roofline.device_peak()
    peers = torch_peer.torch_ops() if o.vs_torch else None
    if o.vs_torch and peers is None:
        raise app.UsageError("--vs_torch needs PyTorch: pip install torch==2.13.0")
    if peers:
        peers["_torch"].set_num_threads(o.torch_threads or os.cpu_count())
    print(f"# {peak.device} ({jax.default_backend()}), jax {jax.__version__}, {time.strftime('%Y-%m-%d')}; "
          f"peak {peak.gflops} GFLOP/s, {peak.gbps:.0f} GB/s ({peak.source})", flush=True)
    rows, too_slow, rng = [], set(), np.random.default_rng(0)
    for case in cases(o):
        new = run_case(o, case, peak, peers, too_slow, rng)
        rows += new
        for r in new:
            print(markdown([r]).splitlines()[-1], flush=True)
    if o.out_md:
        write_atomic(epath.Path(o.out_md), (markdown(rows) + "\n").encode())
    if o.out_json:
        write_atomic(epath.Path(o.out_json), json.dumps(
            {"device": peak.device, "backend": jax.default_backend(), "jax": jax.__version__,
             "peak": dataclasses.asdict(peak), "rows": rows}, indent=1).encode())
    if o.write_auto_table:
        write_auto_table(rows, jax.default_backend(), peak.device)
        print(f"wrote {registry.TABLE_PATH}")
    return rows


def run(config, workdir: str) -> list[dict]:
    """`--mode=bench`: the grid of `config.bench` (flag names; defaults: the flags') with the markdown table and
    JSON written to `<workdir>/bench.md`, `<workdir>/bench.json` unless the config names other files."""
    o = default_options() | {"out_md": f"{workdir}/bench.md", "out_json": f"{workdir}/bench.json"}
    given = dict(config.get("bench", None) or {})
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise KeyError(f"config.bench keys {unknown} are not options; expected some of {list(OPTIONS)}")
    return bench(types.SimpleNamespace(**(o | given)))


TEMPORAL_OPTIONS = {  # the `temporal_bench` config section (`--mode=bench`): TRN at K segments
    "num_segments": 8, "feature_dim": 256, "hidden": 256, "num_classes": 174, "tuples_per_scale": 3,
    "batches": (1, 8, 32), "impls": ("gather", "factored"), "dtype": "float32", "runs": 10, "budget_s": 2.0}


def trn_scales(k: int, d: int, hidden: int, classes: int, per_scale: int | None, rng):
    """TRN-pytorch's multi-scale relation at K segments: scales K..2, `per_scale` test tuples each (None: every
    tuple, the exhaustive evaluation), random g weights; [(tuples, w1, b1, w2, b2)] per scale."""
    n = lambda *s: jnp.asarray(rng.standard_normal(s).astype(np.float32) / np.sqrt(s[0]))
    return [(ops.relation_tuples(k, s, per_scale), n(s * d, hidden), n(hidden), n(hidden, classes), n(classes))
            for s in range(k, 1, -1)]


def trn_flops(scales, b: int, k: int, d: int, factored: bool) -> float:
    """Multiply-adds x 2 of the two FCs: per tuple (gather) or per segment and tuple position (factored), then
    the second FC once per scale on the tuple mean."""
    total = 0
    for tuples, w1, _, w2, _ in scales:
        n, s = tuples.shape
        total += (k if factored else n) * s * d * w1.shape[1] + w2.size
    return 2.0 * b * total


def temporal_bench(o) -> list[dict]:
    """TRN multi-scale relation with its sampled tuples vs every tuple (exhaustive) at `num_segments`, per impl
    and batch; prints markdown rows; returns them."""
    rng, rows = np.random.default_rng(0), []
    print("| K | tuples | count | impl | B | median ms | min ms | GFLOP/s |\n|---|---|---|---|---|---|---|---|")
    for variant, per_scale in (("sampled", o.tuples_per_scale), ("exhaustive", None)):
        scales = trn_scales(o.num_segments, o.feature_dim, o.hidden, o.num_classes, per_scale, rng)
        count = sum(int(t.shape[0]) for t, *_ in scales)
        for impl in o.impls:
            fn = jax.jit(lambda x, sc, impl=impl: ops.trn_multiscale(x, sc, impl=impl))
            for b in map(int, o.batches):
                x = jnp.asarray(rng.standard_normal((b, o.num_segments, o.feature_dim)), o.dtype)
                med, best = time_ms(fn, (x, scales), o.runs, o.budget_s)
                flops = trn_flops(scales, b, o.num_segments, o.feature_dim, impl == "factored")
                rows.append({"k": o.num_segments, "variant": variant, "tuples": count, "impl": impl, "b": b,
                             "median_ms": med, "min_ms": best, "gflops": flops / med / 1e6})
                print(f"| {o.num_segments} | {variant} | {count} | {impl} | {b} | {med:.3f} | {best:.3f} | "
                      f"{flops / med / 1e6:.1f} |", flush=True)
    return rows


def temporal_run(config, workdir: str) -> list[dict]:
    """`--mode=bench` with a `temporal_bench` section (keys of TEMPORAL_OPTIONS): rows to
    `<workdir>/temporal_bench.json`."""
    given = dict(config.get("temporal_bench", None) or {})
    unknown = sorted(set(given) - set(TEMPORAL_OPTIONS))
    if unknown:
        raise KeyError(f"config.temporal_bench keys {unknown} are not options; expected some of "
                       f"{list(TEMPORAL_OPTIONS)}")
    rows = temporal_bench(types.SimpleNamespace(**(TEMPORAL_OPTIONS | given)))
    write_atomic(epath.Path(workdir) / "temporal_bench.json", json.dumps(
        {"device": roofline.device_peak().device, "backend": jax.default_backend(), "rows": rows}, indent=1).encode())
    return rows


def main(argv):
    del argv
    bench(types.SimpleNamespace(**{name: FLAGS[name].value for name in OPTIONS}))


if __name__ == "__main__":
    app.run(main)
