"""impl="auto": nearest measured shape (log space) on the current backend, same dtype preferred, else fallback."""

import json

import pytest

from jaxtrack.ops import registry

TABLE = {"cpu": {"dw_xcorr": [
    {"b": 1, "hz": 7, "hx": 31, "c": 256, "k": 1, "dtype": "float32", "best": "shift"},
    {"b": 128, "hz": 7, "hx": 31, "c": 256, "k": 1, "dtype": "float32", "best": "fft"},
    {"b": 1, "hz": 7, "hx": 31, "c": 256, "k": 1, "dtype": "bfloat16", "best": "xla_conv"},
    {"b": 1, "hz": 7, "hx": 31, "c": 256, "k": 1, "dtype": "float32", "best": "no_such_impl"},
]}}


@pytest.fixture
def table(monkeypatch):
    monkeypatch.setattr(registry, "_table", lambda: TABLE)


def shape(b, dtype="float32"):
    return {"b": b, "hz": 7, "hx": 31, "c": 256, "k": 1, "dtype": dtype}


@pytest.mark.parametrize(("b", "dtype", "want"), [
    (1, "float32", "shift"), (8, "float32", "shift"), (64, "float32", "fft"), (500, "float32", "fft"),
    (32, "bfloat16", "xla_conv"), (1, "float16", "shift"),
])
def test_nearest_measured_shape_same_dtype_first(table, b, dtype, want):
    assert registry.auto_choice("dw_xcorr", shape(b, dtype), backend="cpu") == want


def test_unmeasured_backend_or_op_falls_back(table):
    assert registry.auto_choice("dw_xcorr", shape(8), backend="tpu") == registry.FALLBACK["dw_xcorr"]
    assert registry.auto_choice("xcorr", shape(8), backend="cpu") == registry.FALLBACK["xcorr"]


def test_committed_table_names_registered_impls_only():
    import jaxtrack.ops as ops

    table = json.loads(registry.TABLE_PATH.read_text())
    for backend, by_op in table.items():
        for op, entries in by_op.items():
            if op.startswith("_"):
                continue
            for e in entries:
                assert e["best"] in ops.implementations(op), (backend, op, e)
