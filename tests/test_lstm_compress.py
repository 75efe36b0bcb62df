"""SVD compression with shared projections (`models.lstm_compress`), the LSTM cell's projection and delta-trick
modes (`models.lstm_cells`), their numpy loop form (`models.lstm_numpy`), and `--mode=compress` end to end.
References: closed forms (Eckart-Young, kernel sizes), flax's own `nn.LSTMCell`, and a float64 numpy loop written
here gate by gate."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import dpplstm_synthetic
from jaxtrack import workdir as jt_workdir
from jaxtrack.models import lstm_compress, lstm_numpy
from jaxtrack.models.summarizer import Summarizer
from jaxtrack.modes import compress
from jaxtrack.train import init_from
from jaxtrack.train.summ_task import SummTask, make_task

KW = {"hidden": 8, "mlp_hidden": 6, "kernel_dim": 4}


def _inputs(seed=0, b=2, t=11, d=5, lengths=(11, 7)):
    x = jax.random.normal(jax.random.key(seed), (b, t, d))
    return x, jnp.arange(t)[None] < jnp.array(lengths)[:, None]


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def reference_direction(cell, x, c0, h0, threshold=None):
    """float64 loop, one gate at a time: y [T, R] and non-zero delta counts [T, 2] (module docstring of lstm_cells)."""
    p = {k: {n: np.asarray(a, np.float64) for n, a in v.items()} for k, v in cell.items()}
    proj = p["proj"]["kernel"] if "proj" in p else np.eye(len(h0))
    c, y = np.asarray(c0, np.float64), np.asarray(h0, np.float64) @ proj
    x_ref, y_ref = np.zeros(x.shape[1]), np.zeros(len(y))
    acc = {g: (np.zeros(len(c)), p["h" + g]["bias"].copy()) for g in "ifgo"}
    ys, counts = [], []
    for xt in np.asarray(x, np.float64):
        if threshold is None:
            dx, dy = xt, y
            pre = {g: xt @ p["i" + g]["kernel"] + y @ p["h" + g]["kernel"] + p["h" + g]["bias"] for g in "ifgo"}
        else:
            dx = np.where(np.abs(xt - x_ref) >= threshold, xt - x_ref, 0.0)
            dy = np.where(np.abs(y - y_ref) >= threshold, y - y_ref, 0.0)
            x_ref, y_ref = np.where(dx != 0, xt, x_ref), np.where(dy != 0, y, y_ref)
            acc = {g: (a + dx @ p["i" + g]["kernel"], m + dy @ p["h" + g]["kernel"]) for g, (a, m) in acc.items()}
            pre = {g: a + m for g, (a, m) in acc.items()}
        c = _sig(pre["f"]) * c + _sig(pre["i"]) * np.tanh(pre["g"])
        y = (_sig(pre["o"]) * np.tanh(c)) @ proj
        ys.append(y)
        counts.append(((dx != 0).sum(), (dy != 0).sum()))
    return np.array(ys), np.array(counts)


def test_svd_factor_full_rank_reconstructs_and_truncation_is_eckart_young():
    k = np.asarray(jax.random.normal(jax.random.key(3), (8, 32)), np.float64)
    proj, z, info = lstm_compress.svd_factor(k, rank=8)
    np.testing.assert_allclose(proj @ z, k, atol=1e-12)
    np.testing.assert_allclose(proj.T @ proj, np.eye(8), atol=1e-12)  # the projection has orthonormal rows
    s = np.linalg.svd(k, compute_uv=False)
    proj, z, info = lstm_compress.svd_factor(k, rank=3)
    np.testing.assert_allclose(np.linalg.norm(proj @ z - k), np.sqrt((s[3:] ** 2).sum()), rtol=1e-10)
    assert info["rank"] == 3 and info["variance"] == pytest.approx((s[:3] ** 2).sum() / (s ** 2).sum())
    diag = np.diag([4.0, 3.0, 2.0, 1.0])  # sum(s^2) = 30: 16 / 30 < 0.6 <= 25 / 30
    assert lstm_compress.svd_factor(diag, variance=0.6)[2]["rank"] == 2
    assert lstm_compress.svd_factor(diag, variance=25 / 30)[2]["rank"] == 2
    with pytest.raises(ValueError, match="exceeds the matrix's full rank 4"):
        lstm_compress.svd_factor(diag, rank=5)
    with pytest.raises(ValueError, match="one of rank"):
        lstm_compress.svd_factor(diag)


@pytest.mark.parametrize("tied", [False, True])
def test_compressed_model_at_full_rank_equals_original(tied):
    model = Summarizer(**KW, tied_directions=tied)
    x, mask = _inputs()
    params = model.init(jax.random.key(0), x, mask)["params"]
    small, kwargs, info = lstm_compress.compress_summarizer(params, {**KW, "tied_directions": tied}, rank=8)
    assert kwargs["projection"] == (8, 8) and all(v["error"] < 1e-6 for v in info.values())
    a = model.apply({"params": params}, x, mask)
    b = Summarizer(**kwargs).apply({"params": small}, x, mask)
    for k in ("logits", "phi"):
        np.testing.assert_allclose(b[k], a[k], atol=2e-5)
    lossy, kwargs, _ = lstm_compress.compress_summarizer(params, {**KW, "tied_directions": tied}, rank=3)
    shapes = jax.tree.map(np.shape, Summarizer(**kwargs).init(jax.random.key(0), x, mask)["params"])
    assert jax.tree.map(np.shape, lossy) == shapes  # the compressed tree is what the compressed model builds
    with pytest.raises(ValueError, match="compressed already"):
        lstm_compress.compress_summarizer(lossy, kwargs, rank=2)


def test_param_and_mac_counts_are_the_kernels():
    """Dense multiply-adds per frame = the LSTM and head kernels' entries (each used once per frame)."""
    for kwargs in (KW, {**KW, "projection": (3, 5)}):
        x, mask = _inputs()
        params = Summarizer(**kwargs).init(jax.random.key(0), x, mask)["params"]
        macs = lstm_compress.macs_per_frame(5, kwargs)
        kernels = lambda names, p=params: sum(np.size(v) for path, v in jax.tree_util.tree_leaves_with_path(p)
                                              if path[0].key in names and path[-1].key == "kernel")
        assert macs["lstm"] == kernels(("lstm_fwd", "lstm_bwd"))
        assert macs["heads"] == kernels(("importance_mlp", "kernel_mlp"))
        assert lstm_compress.count_params(params) == sum(np.size(v) for v in jax.tree.leaves(params))


@pytest.mark.parametrize("tied", [False, True])
def test_delta_at_threshold_zero_is_the_flax_cell_values_and_gradients(tied):
    exact = SummTask(model=Summarizer(**KW, tied_directions=tied), loss="dpplstm")
    delta = SummTask(model=Summarizer(**KW, tied_directions=tied, delta_threshold=0.0), loss="dpplstm")
    x, mask = _inputs(1)
    batch = {"features": x, "mask": mask, "keyframes": jnp.arange(11)[None].repeat(2, 0) % 3 == 0,
             "scores": jax.random.uniform(jax.random.key(2), (2, 11))}
    params = exact.init(jax.random.key(0), batch)["params"]
    a, b = exact.predict(params, x, mask), delta.predict(params, x, mask)
    for k in ("logits", "phi"):
        np.testing.assert_allclose(b[k], a[k], atol=1e-5)
    if tied:
        return
    loss = lambda task: lambda p, f: task.terms(p, {**batch, "features": f})[0]
    ga = jax.grad(loss(exact), argnums=(0, 1))(params, x)
    gb = jax.grad(loss(delta), argnums=(0, 1))(params, x)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(v, u, rtol=1e-3, atol=1e-5), ga, gb)  # float32 sums


@pytest.mark.parametrize("projection", [(), (3, 5)])
@pytest.mark.parametrize("threshold", [0.0, 0.3])
def test_delta_cell_against_numpy_loop(projection, threshold):
    """Forward / backward directions of the delta Summarizer vs the float64 loop: the heads' inputs, and the
    non-zero delta counts; `lstm_numpy` (sparse and masked-dense forms) too."""
    model = Summarizer(**KW, projection=projection, delta_threshold=threshold)
    x, mask = _inputs(4, lengths=(11, 7))
    params = model.init(jax.random.key(0), x, mask)["params"]
    out, inter = model.apply({"params": params}, x, mask, capture_intermediates=True)
    p = jax.tree.map(np.asarray, params)
    for row, n in enumerate((11, 7)):
        xs = np.asarray(x[row, :n], np.float64)
        mean = xs.mean(0)
        c0 = np.tanh(mean @ p["c_init"]["kernel"] + p["c_init"]["bias"])
        h0 = np.tanh(mean @ p["h_init"]["kernel"] + p["h_init"]["bias"])
        y_f, nnz_f = reference_direction(p["lstm_fwd"], xs, c0, h0, threshold)
        y_b, nnz_b = reference_direction(p["lstm_bwd"], xs[::-1], c0, h0, threshold)
        heads_in = inter["intermediates"]["importance_mlp"]["dense0"]["__call__"][0][row, :n]
        np.testing.assert_allclose(heads_in, np.concatenate([xs, y_f, y_b[::-1]], -1) @ p["importance_mlp"][
            "dense0"]["kernel"] + p["importance_mlp"]["dense0"]["bias"], atol=2e-5)
        np.testing.assert_array_equal(out["delta_nnz"][row, :n], np.concatenate([nnz_f, nnz_b[::-1]], -1))
        assert (np.asarray(out["delta_nnz"][row, n:]) == 0).all()
        for sparse in (True, False):
            y, nnz = lstm_numpy.run(p["lstm_fwd"], xs, c0, h0, threshold, sparse=sparse)
            np.testing.assert_allclose(y, y_f, atol=2e-5)
            np.testing.assert_array_equal(nnz, nnz_f)
    if threshold:
        assert 0 < np.asarray(out["delta_nnz"]).sum() < 11 * (5 + 8) * 2 * 2  # some, not all, deltas zeroed
    y, nnz = lstm_numpy.run(p["lstm_fwd"], xs, c0, h0)
    np.testing.assert_allclose(y, reference_direction(p["lstm_fwd"], xs, c0, h0)[0], atol=2e-5)


def test_make_task_delta_threshold_for_inference_only():
    c = dpplstm_synthetic.get_config()
    c.model.kwargs.update(**KW)
    c.summ.delta_threshold = 0.5
    task = make_task(c)
    x, mask = _inputs()
    params = task.init(jax.random.key(0), {"features": x, "mask": mask})["params"]
    assert "delta_nnz" in task.predict(params, x, mask)
    assert task.model.delta_threshold is None  # losses use the exact cell
    c.summ.delta_threshold = -1.0
    with pytest.raises(ValueError, match=r"summ\.delta_threshold must be >= 0"):
        make_task(c)


def test_compress_mode_full_rank_matches_and_sweep(tmp_path):
    c = dpplstm_synthetic.get_config()
    c.data.options.update(num_train=2, num_val=1, num_test=2, height=32, width=32, n_frames=24, n_shots=2)
    c.data.batch_size = 2
    c.features.update(image_size=16, stats_grid=2)
    c.model.kwargs.update(**KW)
    c.summ.max_shot_len = 5
    workdir = tmp_path / "run"  # a "trained" workdir: config.json and initial variables as checkpoint 0
    jt_workdir.write_config(workdir, c)
    x, mask = _inputs(d=14)
    init_from.save_variables(workdir, make_task(c).model.init(jax.random.key(0), x, mask))
    c.compress.update(rank=8, finetune_epochs=0, repeats=1)  # full rank, no fine-tuning: the same model
    exact, full = compress.run(c, str(workdir))  # finetune_epochs 0: no fine-tuned row
    for k in ("f", "tau", "rho"):
        assert full[k] == pytest.approx(exact[k], abs=1e-9)
    assert full["drift"][1] < 1e-5 and full["params"] > exact["params"]  # P and Z at full rank cost more
    task, params = jt_workdir.load_summarizer(workdir / "compressed" / "rank8")
    assert task.model.projection == (8, 8) and params["lstm_fwd"]["proj"]["kernel"].shape == (8, 8)
    c.compress.update(sweep=True, ranks=(2,), variances=(), delta_thresholds=(0.0, 1.0), finetune_epochs=1)
    rows = compress.run(c, str(workdir))
    assert [(r["model"], r["setting"]) for r in rows] == [("uncompressed", "–"), ("SVD", "r=2/2"),
                                                          ("SVD + 1 ep", "r=2/2"), ("delta", "0"), ("delta", "1")]
    assert rows[3]["f"] == pytest.approx(rows[0]["f"]) and rows[3]["drift"][1] < 1e-5
    assert rows[4]["zeroed"] > rows[3]["zeroed"] >= 0 and rows[4]["macs"] < rows[0]["macs"]
    assert rows[1]["params"] == rows[2]["params"] < rows[0]["params"]
    assert (workdir / "compressed" / "compress_results.md").read_text().count("\n|") == 7  # header, rule, 5 rows
    c.compress.update(sweep=False, rank=0)
    with pytest.raises(ValueError, match=r"compress\.rank=R or --config\.compress\.variance=V"):
        compress.run(c, str(workdir))
