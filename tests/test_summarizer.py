"""BiLSTM summarizer and its Tasks: shapes, padding invariance of outputs, loss and gradients, tied directions,
and a short run of the shared trainer."""

import grain
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import dpplstm_synthetic, vslstm_synthetic
from jaxtrack import config as config_lib
from jaxtrack.data.pipeline_summ import SummConfig, summ_batches
from jaxtrack.data.sources import InMemoryVideos
from jaxtrack.data.video import Video
from jaxtrack.models.summarizer import Summarizer
from jaxtrack.train import trainer
from jaxtrack.train.summ_task import SummTask, make_task, model_batch

MODEL = Summarizer(hidden=8, mlp_hidden=8, kernel_dim=4)


def _batch(rng, t, pad, d=5):
    x = np.pad(rng.normal(size=(t, d)), ((0, pad), (0, 0)), constant_values=9.0).astype(np.float32)
    keys = np.zeros(t + pad, bool)
    keys[[1, 4, 6]] = True
    scores = np.pad(np.linspace(0, 1, t), (0, pad), constant_values=0.5).astype(np.float32)
    mask = np.arange(t + pad) < t
    return {"features": x[None], "scores": scores[None], "keyframes": keys[None], "mask": mask[None]}


@pytest.mark.parametrize("tied", [False, True])
def test_shapes_and_padding_invariant_outputs(tied):
    model = Summarizer(hidden=8, mlp_hidden=8, kernel_dim=4, tied_directions=tied)
    rng = np.random.default_rng(0)
    short, long = _batch(rng, 10, 0), _batch(np.random.default_rng(0), 10, 14)
    params = model.init(jax.random.key(0), short["features"], short["mask"])["params"]
    assert ("lstm" in params) == tied and ("lstm_fwd" in params) != tied
    a = model.apply({"params": params}, short["features"], short["mask"])
    b = model.apply({"params": params}, long["features"], long["mask"])
    assert a["phi"].shape == (1, 10, 4) and a["importance"].shape == (1, 10)
    assert ((a["importance"] > 0) & (a["importance"] < 1)).all()
    for k in a:
        np.testing.assert_allclose(b[k][:, :10], a[k], atol=1e-6)


def test_tied_backward_is_forward_on_reversed_video():
    """With tied weights the backward states at step t equal the forward states of the reversed video."""
    model = Summarizer(hidden=8, mlp_hidden=8, kernel_dim=4, tied_directions=True)
    x = jax.random.normal(jax.random.key(1), (1, 7, 5))
    mask = jnp.ones((1, 7), bool)
    params = model.init(jax.random.key(0), x, mask)["params"]
    _, states = model.apply({"params": params}, x, mask, capture_intermediates=True)
    _, rev_states = model.apply({"params": params}, x[:, ::-1], mask, capture_intermediates=True)
    bwd = states["intermediates"]["rnn_bwd"]["__call__"][0]
    fwd_rev = rev_states["intermediates"]["rnn_fwd"]["__call__"][0]
    np.testing.assert_allclose(bwd, fwd_rev[:, ::-1], atol=1e-6)


def test_task_loss_and_gradient_ignore_padding():
    """The same video padded to 12 and 32 steps: equal dppLSTM loss and gradient, equal vsLSTM loss."""
    task = SummTask(model=MODEL, loss="dpplstm")
    short, long = _batch(np.random.default_rng(2), 12, 0), _batch(np.random.default_rng(2), 12, 20)
    params = task.init(jax.random.key(0), short)["params"]
    grad = jax.jit(jax.value_and_grad(lambda p, b: task.loss_fn(p, {}, b, None)[0]))
    (la, ga), (lb, gb) = grad(params, short), grad(params, long)
    np.testing.assert_allclose(lb, la, rtol=1e-5)
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5), ga, gb)
    assert set(task.eval_fn(params, {}, short)) == {"loss", "mse", "dpp_nll"}
    vs = SummTask(model=MODEL, loss="vslstm")
    np.testing.assert_allclose(vs.eval_fn(params, {}, long)["loss"], vs.eval_fn(params, {}, short)["loss"], rtol=1e-5)


@pytest.mark.parametrize("target", ["keyframes", "scores"])
def test_dpplstm_mse_target(target):
    """The dppLSTM "mse" term against a numpy MSE of the model's importance to the chosen target."""
    task = SummTask(model=MODEL, loss="dpplstm", mse_target=target)
    batch = _batch(np.random.default_rng(3), 9, 5)
    params = task.init(jax.random.key(0), batch)["params"]
    q = np.asarray(task.predict(params, batch["features"], batch["mask"])["importance"])[0, :9]
    want = np.mean((q - batch[target][0, :9].astype(np.float64)) ** 2)
    np.testing.assert_allclose(task.eval_fn(params, {}, batch)["mse"], want, rtol=1e-5)


def test_errors_name_arguments():
    with pytest.raises(ValueError, match=r"SummTask\.loss"):
        SummTask(loss="mse")
    with pytest.raises(ValueError, match=r"SummTask\.mse_target"):
        SummTask(mse_target="gt")
    with pytest.raises(ValueError, match=r"features must be \[B, T, D\]"):
        MODEL.init(jax.random.key(0), jnp.zeros((3, 4)), jnp.ones((3,), bool))
    with pytest.raises(KeyError, match="keyframes"):
        model_batch({"features": 0, "scores": 0, "mask": 0})


def test_shared_trainer_reduces_dpplstm_loss(tmp_path):
    rng = np.random.default_rng(3)
    videos = []
    for i, n in enumerate((20, 30, 25, 18)):
        feats = rng.normal(size=(n, 6)).astype(np.float32)
        summaries = (np.arange(n) % 5 == 0)[None].repeat(3, 0).astype(np.uint8)
        feats[:, 0] += 3 * summaries[0]  # keyframes are visible in the features
        videos.append(Video(name=f"v{i}", n_frames=n, features=feats, user_summaries=summaries,
                            user_scores=summaries.astype(np.float32) + 1))
    source = InMemoryVideos(videos)
    config = config_lib.experiment("summarize")
    config.update(num_epochs=4, steps_per_epoch=2, log_every=2, tensorboard=False, progress=False)
    config.optim.update(name="adam", weight_decay=0.0)
    config.optim.lr = {"type": "constant", "start_lr": 0.02}
    config.optim.warmup.epochs = 0

    def data():
        ds = summ_batches(source, SummConfig(buckets=(32,)), batch_size=2, num_epochs=None, drop_remainder=True,
                          shard_options=grain.sharding.NoSharding())
        return iter(ds.map(model_batch))

    trainer.train(config, str(tmp_path), task=SummTask(model=MODEL, loss="dpplstm"), train_data=data)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    losses = [float(line.split('"train/loss": ')[1].split(",")[0]) for line in lines]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_make_task_from_the_experiment_schema():
    c = dpplstm_synthetic.get_config()
    task = make_task(c)
    assert task.model == Summarizer(hidden=64, mlp_hidden=64, kernel_dim=32)
    assert (task.loss, task.dpp_weight, task.jitter, task.mse_target) == ("dpplstm", 0.1, 1e-3, "scores")
    assert make_task(vslstm_synthetic.get_config()).loss == "vslstm"
    c.model.name = "siamfc"
    with pytest.raises(ValueError, match="must be 'summarizer'"):
        make_task(c)
