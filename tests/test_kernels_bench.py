"""`kernels/bench.py` through `--mode=bench`'s entry point: a one-case grid writes its table and JSON, the
counted work matches the direct formulation counted here, and bad options are named."""

import json
import math

import ml_collections
import numpy as np
import pytest

from kernels import bench


def test_bench_run_writes_rows(tmp_path):
    config = ml_collections.ConfigDict({"bench": {"shapes": ["siamfc"], "ops": ["dw_xcorr"], "impls": ["shift"],
                                                  "batches": ["2"], "dtypes": ["float32"], "runs": 2}})
    rows = bench.run(config, str(tmp_path))
    assert [(r["op"], r["impl"], r["b"], r["dtype"]) for r in rows] == [("dw_xcorr", "shift", 2, "float32")]
    r = rows[0]
    macs = 2 * 17 * 17 * 6 * 6 * 256  # B x output 17x17 x taps 6x6 x C: one multiply-add each
    assert r["gflops"] * r["median_ms"] * 1e6 == pytest.approx(2 * macs, rel=1e-9)
    bytes_ = 4 * (2 * 22 * 22 * 256 + 2 * 6 * 6 * 256 + 2 * 17 * 17 * 256)
    assert r["gbps"] * r["median_ms"] * 1e6 == pytest.approx(bytes_, rel=1e-9)
    assert 0 < r["min_ms"] <= r["median_ms"]
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["rows"][0]["median_ms"] == r["median_ms"]
    assert "| dw_xcorr | siamfc z6/x22 | 2 | float32 | shift |" in (tmp_path / "bench.md").read_text()


def test_bench_bad_options(tmp_path):
    with pytest.raises(KeyError, match="batch_sizes"):
        bench.run(ml_collections.ConfigDict({"bench": {"batch_sizes": [1]}}), str(tmp_path))
    with pytest.raises(ValueError, match="siamfcc"):
        bench.run(ml_collections.ConfigDict({"bench": {"shapes": ["siamfcc"]}}), str(tmp_path))


def test_temporal_bench_sampled_vs_exhaustive(tmp_path):
    """TRN at K=4: 2 tuples per scale at scales 4, 3, 2 (1 + 2 + 2 = 5) vs every tuple (1 + 4 + 6 = 11); the
    counted work is the two FCs' multiply-adds, per tuple (gather) or per segment and position (factored)."""
    config = ml_collections.ConfigDict({"temporal_bench": {"num_segments": 4, "feature_dim": 3, "hidden": 5,
                                                           "num_classes": 2, "tuples_per_scale": 2, "batches": [2],
                                                           "runs": 2}})
    rows = bench.temporal_run(config, str(tmp_path))
    assert [(r["variant"], r["tuples"], r["impl"]) for r in rows] == [
        ("sampled", 5, "gather"), ("sampled", 5, "factored"), ("exhaustive", 11, "gather"),
        ("exhaustive", 11, "factored")]
    gather = 2 * 2 * (3 * (1 * 4 + 2 * 3 + 2 * 2) * 5 + 3 * 5 * 2)  # 2 flops x B x (tuple rows x D x H + H x O)
    r = rows[0]
    assert r["gflops"] * r["median_ms"] * 1e6 == pytest.approx(gather, rel=1e-9)
    factored_all = 2 * 2 * (3 * (4 * 4 + 4 * 3 + 4 * 2) * 5 + 3 * 5 * 2)  # K segments x s positions per scale
    r = rows[3]
    assert r["gflops"] * r["median_ms"] * 1e6 == pytest.approx(factored_all, rel=1e-9)
    assert json.loads((tmp_path / "temporal_bench.json").read_text())["rows"][1]["impl"] == "factored"
    with pytest.raises(KeyError, match="segments"):
        bench.temporal_run(ml_collections.ConfigDict({"temporal_bench": {"segments": 8}}), str(tmp_path))


def test_bench_roi_align_counts_bilinear_samples(tmp_path):
    """roi_align rows: 256 RoIs on a 14x14 map, 3x3 bins; the counted work is 4 multiply-adds per channel for every
    adaptive sample, ceil(roi side on the map / 3) per bin and axis, counted here box by box."""
    config = ml_collections.ConfigDict({"bench": {"shapes": ["roi_107"], "ops": ["roi_align"], "impls": ["separable"],
                                                  "batches": ["1", "32"], "dtypes": ["float32"], "runs": 2}})
    rows = bench.run(config, str(tmp_path))
    assert [(r["op"], r["b"], r["k"]) for r in rows] == [("roi_align", 1, 256)]  # B=32 x 256 RoIs is not run
    _, boxes = bench.Case("roi_align", "roi_107", 1, 3, 14, 512, 256, "float32").arrays(np.random.default_rng(0))
    assert boxes.shape == (1, 256, 4) and (boxes[..., 2:] > boxes[..., :2]).all()
    samples = sum(math.ceil((x2 - x1) / 8 / 3) * math.ceil((y2 - y1) / 8 / 3) for x1, y1, x2, y2 in boxes[0])
    r = rows[0]
    assert r["gflops"] * r["median_ms"] * 1e6 == pytest.approx(2 * 4 * 512 * 9 * samples, rel=1e-6)
    assert r["gbps"] * r["median_ms"] * 1e6 == pytest.approx(4 * (14 * 14 * 512 + 256 * 9 * 512 + 256 * 4), rel=1e-9)
    assert "| roi_align | roi_107 3x3 bins, map 14, N=256 | 1 | float32 | separable |" in (
        tmp_path / "bench.md").read_text()
