"""Trainer loop: exact resume (params, optimizer, batch_stats and batches), NaN guard, checkpoint retention."""

import flax.linen as nn
import grain
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import config as config_lib
from jaxtrack.train import checkpoint, metrics_io, trainer

BATCH = 8


class Backbone(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool):
        x = nn.Dense(8, name="dense")(x)
        return nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.5, name="bn")(x))


class Net(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool):
        return nn.Dense(1, name="head")(Backbone(name="backbone")(x, train))[:, 0]


class TinyTask:
    """Regression y ~ Net(x) with dropout-like noise from the step key; loss NaN from step `nan_from` on."""

    def __init__(self, nan_from: int | None = None):
        self.model, self.nan_from = Net(), nan_from

    def init(self, key, batch):
        return self.model.init(key, batch["x"], train=False)

    def loss_fn(self, params, batch_stats, batch, key):
        pred, updates = self.model.apply({"params": params, "batch_stats": batch_stats}, batch["x"], train=True,
                                         mutable=["batch_stats"])
        noise = 0.01 * jax.random.normal(key, pred.shape)
        loss = jnp.mean((pred + noise - batch["y"]) ** 2)
        if self.nan_from is not None:
            loss = jnp.where(batch["idx"][0] // BATCH + 1 >= self.nan_from, jnp.nan, loss)
        return loss, ({"idx_sum": jnp.sum(batch["idx"]).astype(jnp.float32)}, updates["batch_stats"])

    def eval_fn(self, params, batch_stats, batch):
        pred = self.model.apply({"params": params, "batch_stats": batch_stats}, batch["x"], train=False)
        return {"loss": jnp.mean((pred - batch["y"]) ** 2)}


def _item(i):
    r = np.random.default_rng(i)
    x = r.normal(size=4).astype(np.float32)
    return {"x": x, "y": np.float32(x.sum() + 0.1 * r.normal()), "idx": np.int32(i)}


def make_data(num_items=40, shuffle=True):
    """() -> iterator over batches of 8 synthetic items, reshuffled each epoch, checkpointable."""
    def factory():
        ds = grain.MapDataset.range(num_items)
        ds = ds.shuffle(seed=3) if shuffle else ds
        return iter(ds.repeat().map(_item).to_iter_dataset().batch(BATCH, drop_remainder=True))
    return factory


class Dying:
    """Iterator that raises after `n` batches (a killed job)."""

    def __init__(self, it, n):
        self.it, self.n = it, n

    def __next__(self):
        if self.n == 0:
            raise KeyboardInterrupt("killed")
        self.n -= 1
        return next(self.it)

    def get_state(self):
        return self.it.get_state()

    def set_state(self, state):
        self.it.set_state(state)


def make_config(**kw):
    cfg = config_lib.experiment("train")
    cfg.update(num_epochs=2, steps_per_epoch=5, log_every=1, checkpoint_every=3, eval_every=5, progress=False,
               tensorboard=False)
    cfg.optim.update(weight_decay=1e-3, grad_clip=1.0)
    cfg.optim.lr.update(type="log", start_lr=0.1, end_lr=0.01)
    cfg.optim.warmup.update(epochs=0)
    cfg.optim.backbone.update(train_epoch=1)
    cfg.update(kw)
    return cfg


def _last_per_step(path, key):
    return {line["step"]: line[key] for line in metrics_io.read_lines(path) if key in line}


def test_exact_resume(tmp_path):
    cfg, data = make_config(), make_data()
    iters = []
    factory = lambda: iters.append(data()) or iters[-1]
    full = trainer.train(cfg, str(tmp_path / "full"), task=TinyTask(), train_data=factory, eval_data=None)

    workdir = str(tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):  # killed while fetching the batch of step 8 (peek + 7 batches)
        trainer.train(cfg, workdir, task=TinyTask(), train_data=lambda: Dying(data(), 8))
    assert checkpoint.Checkpointer(f"{workdir}/checkpoints").all_steps() == [3, 6]
    resumed = trainer.train(cfg, workdir, task=TinyTask(), train_data=factory)

    assert int(resumed.step) == int(full.step) == 10
    for a, b in zip(jax.tree.leaves(jax.device_get(full)), jax.tree.leaves(jax.device_get(resumed))):
        np.testing.assert_array_equal(a, b)
    init_stats = TinyTask().init(jax.random.key(0), data().__next__())["batch_stats"]
    assert not np.allclose(full.batch_stats["backbone"]["bn"]["mean"], init_stats["backbone"]["bn"]["mean"])
    assert iters[0].get_state() == iters[1].get_state()
    seen_full = _last_per_step(str(tmp_path / "full/metrics.jsonl"), "train/idx_sum")
    seen_resumed = _last_per_step(f"{workdir}/metrics.jsonl", "train/idx_sum")
    assert seen_full == seen_resumed and sorted(seen_full) == list(range(1, 11))
    assert len(set(seen_full.values())) > 1


def test_nan_guard_names_step_and_checkpoint(tmp_path):
    cfg = make_config(checkpoint_every=2, log_every=100)
    with pytest.raises(FloatingPointError, match=r"at step 5\b") as err:
        trainer.train(cfg, str(tmp_path), task=TinyTask(nan_from=5), train_data=make_data(shuffle=False))
    assert str(tmp_path / "checkpoints" / "4") in str(err.value)
    assert checkpoint.Checkpointer(tmp_path / "checkpoints").all_steps() == [2, 4]


def test_eval_metrics_and_best_checkpoint(tmp_path):
    cfg = make_config(checkpoint_every=5, keep_checkpoints=1, best_metric="eval/loss", best_mode="max")
    eval_data = lambda: [_batch(range(8)), _batch(range(8, 16))]
    trainer.train(cfg, str(tmp_path), task=TinyTask(), train_data=make_data(), eval_data=eval_data)
    losses = _last_per_step(str(tmp_path / "metrics.jsonl"), "eval/loss")
    assert sorted(losses) == [5, 10]
    best = max(losses, key=losses.get)
    ckpt = checkpoint.Checkpointer(tmp_path / "checkpoints", keep=1, best_metric="eval/loss", best_mode="max")
    assert ckpt.best_step() == best and ckpt.all_steps() == sorted({best, 10})


def _batch(indices):
    items = [_item(i) for i in indices]
    return {k: np.stack([it[k] for it in items]) for k in items[0]}


@pytest.mark.parametrize("mode", ["min", "max"])
def test_checkpoint_retention_and_best(tmp_path, mode):
    values = [5.0, 1.0, 9.0, 3.0, 4.0, 2.0]  # steps 1..6
    it = make_data()()
    ckpt = checkpoint.Checkpointer(tmp_path, keep=2, best_metric="m", best_mode=mode)
    states = {}
    for step, v in enumerate(values, 1):
        next(it)
        states[step] = it.get_state()
        ckpt.save(step, {"w": jnp.full([3], float(step))}, states[step], {"m": v, "other": 0.0})
    ckpt.save(7, {"w": jnp.full([3], 7.0)}, it.get_state(), {"other": 0.0})  # no metric: kept as latest only
    ckpt.wait()
    best = 2 if mode == "min" else 3
    assert ckpt.best_step() == best
    assert ckpt.all_steps() == sorted({best, 6, 7})
    fresh = make_data()()
    restored = ckpt.restore({"w": jnp.zeros([3])}, fresh, step=best)
    np.testing.assert_array_equal(restored["w"], np.full([3], float(best)))
    assert fresh.get_state() == states[best]
    ckpt.close()


def test_metric_writer_jsonl_and_tensorboard(tmp_path):
    writer = metrics_io.MetricWriter(str(tmp_path), tensorboard=True)
    writer.write(3, {"a": np.float32(1.5), "b": float("nan")})
    writer.close()
    line, = metrics_io.read_lines(str(tmp_path / "metrics.jsonl"))
    assert line["step"] == 3 and line["a"] == 1.5 and line["b"] is None
    assert (tmp_path / "tensorboard").is_dir() == (metrics_io.tensorboardX is not None)
