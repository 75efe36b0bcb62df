"""`kernels/bench.py` through `--mode=bench`'s entry point: a one-case grid writes its table and JSON, the
counted work matches the direct formulation counted here, and bad options are named."""

import json

import ml_collections
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
