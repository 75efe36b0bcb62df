"""Training reliability (issue 18): the NaN guard never saves a non-finite state, a corrupt checkpoint is set aside
and the run resumes bit-exact from the newest intact one, metrics.jsonl holds each step once after a resume, and
impossible trainer settings are rejected before any work.

References: an uninterrupted run (final state, per-step metrics), numpy's isfinite on every saved array, and the
file system (what exists where)."""

import json
import os
import re
import shutil

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from etils import epath

import launch
from jaxtrack import sharding
from jaxtrack.modes import train as train_mode
from jaxtrack.train import checkpoint, metrics_io, optim, trainer
from tests.test_train_loop import BATCH, Dying, make_config, make_data

WIDTH = 512  # a 4 x 512 kernel: stored in its own OCDBT data file, not inline in the index
# orbax abandons the other arrays' read coroutines when one read fails (a truncated file); Python reports them
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class WideTask:
    """Regression through a wide hidden layer, noise from the step key. From step `nan_from` on the loss stays
    finite but its gradient is NaN (the unselected branch of a `where`), as a diverging run's can be."""

    def __init__(self, nan_from: int | None = None):
        self.model, self.nan_from = nn.Sequential([nn.Dense(WIDTH), nn.relu, nn.Dense(1)]), nan_from

    def init(self, key, batch):
        return self.model.init(key, batch["x"])

    def loss_fn(self, params, batch_stats, batch, key):
        pred = self.model.apply({"params": params}, batch["x"])[:, 0]
        loss = jnp.mean((pred + 0.01 * jax.random.normal(key, pred.shape) - batch["y"]) ** 2)
        if self.nan_from is not None:
            true = batch["idx"][0] >= 0  # traced, so that nothing folds the `where` away
            poison = lambda v: jnp.where(true, v, jnp.sqrt(-1.0 - v))  # value v, gradient NaN
            loss = jax.lax.cond(batch["idx"][0] // BATCH + 1 >= self.nan_from, poison, lambda v: v, loss)
        return loss, ({"idx_sum": jnp.sum(batch["idx"]).astype(jnp.float32)}, batch_stats)


def _leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(state))]


def _steps_in_file(workdir):
    return [line["step"] for line in metrics_io.read_lines(os.path.join(workdir, "metrics.jsonl"))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(uninterrupted run's final leaves and per-step idx_sum, a workdir killed at step 8 with checkpoints 3, 6)."""
    root = tmp_path_factory.mktemp("runs")
    cfg, data = make_config(), make_data()
    full = trainer.train(cfg, str(root / "full"), task=WideTask(), train_data=data)
    sums = {line["step"]: line["train/idx_sum"] for line in metrics_io.read_lines(str(root / "full/metrics.jsonl"))}
    with pytest.raises(KeyboardInterrupt):
        trainer.train(cfg, str(root / "killed"), task=WideTask(), train_data=lambda: Dying(data(), 8))
    assert checkpoint.steps(root / "killed") == [3, 6]
    return _leaves(full), sums, root / "killed"


def _largest_array_file(state_dir: epath.Path) -> str:
    files = [os.path.join(d, f) for d, _, names in os.walk(state_dir) for f in names if os.path.basename(d) == "d"]
    return max(files, key=os.path.getsize)


def _truncate(step_dir):
    path = _largest_array_file(step_dir / "state")
    os.truncate(path, os.path.getsize(path) // 2)


CORRUPTIONS = {  # kind: (damage to a step folder, what the report says)
    "truncated array file": (_truncate, "cannot be read (ValueError: OUT_OF_RANGE"),
    "deleted _METADATA": (lambda d: os.remove(d / "state/_METADATA"), "state/_METADATA is missing"),
    "deleted manifest.ocdbt": (lambda d: os.remove(d / "state/manifest.ocdbt"), "state/manifest.ocdbt is missing"),
    "zero-byte iterator JSON": (lambda d: open(d / "data/process_0-of-1.json", "w").close(),
                                "data/process_0-of-1.json is empty (0 bytes)"),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupt_latest_checkpoint_is_set_aside_and_run_resumes_from_older(runs, tmp_path, capsys, kind):
    full, sums, killed = runs
    workdir = tmp_path / "w"
    shutil.copytree(killed, workdir)
    damage, what = CORRUPTIONS[kind]
    damage(workdir / "checkpoints/6")
    snapshot = sorted(str(p.relative_to(workdir / "checkpoints/6")) for p in (workdir / "checkpoints/6").rglob("*"))
    capsys.readouterr()

    resumed = trainer.train(make_config(), str(workdir), task=WideTask(), train_data=make_data())

    out = capsys.readouterr().out.splitlines()
    report = [line for line in out if line.startswith("corrupt checkpoint")]
    assert len(report) == 1 and report[0].startswith(f"corrupt checkpoint {workdir / 'checkpoints/6'}: "), out
    assert what in report[0] and report[0].endswith("; set aside as 6.corrupt-1"), report
    assert f"resuming from {workdir / 'checkpoints/3'} (the newest intact checkpoint)" in out
    aside = workdir / "checkpoints/6.corrupt-1"  # kept as it was, never deleted
    assert sorted(str(p.relative_to(aside)) for p in aside.rglob("*")) == snapshot
    for a, b in zip(full, _leaves(resumed), strict=True):  # resumed from 3 with its data iterator: bit-exact
        np.testing.assert_array_equal(a, b)
    assert _steps_in_file(workdir) == list(range(1, 11))  # cut back to step 3, then 4..10 once each
    seen = {line["step"]: line["train/idx_sum"] for line in metrics_io.read_lines(str(workdir / "metrics.jsonl"))}
    assert seen == sums


def test_no_intact_checkpoint_left_trains_from_step_0(runs, tmp_path, capsys):
    full, _, killed = runs
    workdir = tmp_path / "w"
    shutil.copytree(killed, workdir)
    for step in (3, 6):
        _truncate(workdir / f"checkpoints/{step}")
    capsys.readouterr()
    resumed = trainer.train(make_config(), str(workdir), task=WideTask(), train_data=make_data())
    out = capsys.readouterr().out
    assert out.count("corrupt checkpoint") == 2 and "resuming" not in out
    assert f"no intact checkpoint left in {workdir / 'checkpoints'}: training from step 0" in out
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == ["10", "3.corrupt-1", "6", "6.corrupt-1",
                                                                          "9"]
    for a, b in zip(full, _leaves(resumed), strict=True):  # the data iterator from its start again
        np.testing.assert_array_equal(a, b)
    assert _steps_in_file(workdir) == list(range(1, 11))


@pytest.mark.parametrize("kind", ["truncated array file", "deleted _METADATA", "deleted manifest.ocdbt"])
def test_loading_a_damaged_checkpoint_for_inference_fails_in_one_line(runs, tmp_path, kind):
    workdir = tmp_path / "w"  # workdir.load_tracker / --mode=eval / --mode=track read checkpoints this way
    shutil.copytree(runs[2], workdir)
    CORRUPTIONS[kind][0](workdir / "checkpoints/6")
    with pytest.raises(ValueError) as err:
        checkpoint.restore_variables(workdir)
    message = str(err.value)
    assert message.startswith(f"{workdir / 'checkpoints/6/state'}: damaged checkpoint: ") and "\n" not in message
    assert CORRUPTIONS[kind][1].replace("cannot be read (", "") in message


def test_nonfinite_checkpoint_of_an_older_run_is_set_aside(runs, tmp_path, capsys):
    full, _, killed = runs
    workdir = tmp_path / "w"
    shutil.copytree(killed, workdir)
    ckpt = checkpoint.Checkpointer(workdir / "checkpoints")  # a NaN state saved as step 7 (no guard wrote it)
    it = make_data()()
    opt = optim.make_optimizer(make_config().optim, num_epochs=2, steps_per_epoch=5)
    template = trainer.create_state(WideTask(), opt, next(it), 0, sharding.make_mesh())
    good = ckpt.restore(template, it, step=6)
    poisoned = good.replace(step=good.step + 1, params=jax.tree.map(lambda x: x * jnp.nan, good.params))
    ckpt.save(7, poisoned, it.get_state())
    ckpt.close()

    resumed = trainer.train(make_config(), str(workdir), task=WideTask(), train_data=make_data())

    out = capsys.readouterr().out
    assert f"corrupt checkpoint {workdir / 'checkpoints/7'}: holds non-finite values in params/" in out
    assert f"resuming from {workdir / 'checkpoints/6'} (the newest intact checkpoint)" in out
    assert (workdir / "checkpoints/7.corrupt-1/state/_METADATA").exists()
    for a, b in zip(full, _leaves(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_of_another_model_is_an_error_not_corruption(runs, tmp_path):
    _, _, killed = runs
    workdir = tmp_path / "w"
    shutil.copytree(killed, workdir)
    narrow = WideTask()
    narrow.model = nn.Sequential([nn.Dense(8), nn.relu, nn.Dense(1)])
    with pytest.raises(ValueError, match=r"checkpoints/6 is a checkpoint of another model.*expected shape \(4, 8\), "
                                         r"found \(4, 512\)"):
        trainer.train(make_config(), str(workdir), task=narrow, train_data=make_data())
    assert checkpoint.steps(workdir) == [3, 6] and not list((workdir / "checkpoints").glob("*.corrupt-*"))


def _saved_arrays_finite(workdir) -> dict[int, bool]:
    """{step: every floating array of checkpoint `step` finite}, read back with orbax and checked with numpy."""
    out = {}
    for step in checkpoint.steps(workdir):
        tree = checkpoint.restore_tree(checkpoint.directory(workdir) / str(step) / "state")
        out[step] = all(np.isfinite(a).all() for a in map(np.asarray, jax.tree.leaves(tree)) if a.dtype.kind == "f")
    return out


@pytest.mark.parametrize("save_every", [1, 2])
def test_nan_guard_never_saves_a_nonfinite_state(tmp_path, save_every):
    # Step 5's loss is finite, its gradient NaN: the parameters it makes are NaN. With checkpoints every step the
    # old guard (loss only) saved them as checkpoint 5; with every 2nd step, step 6 (NaN loss) was caught one late.
    cfg = make_config(checkpoint_every=save_every, keep_checkpoints=10, log_every=100)
    with pytest.raises(trainer.DivergedError) as err:
        trainer.train(cfg, str(tmp_path), task=WideTask(nan_from=5), train_data=make_data(shuffle=False))
    message = str(err.value)
    assert "\n" not in message and isinstance(err.value, launch.USER_ERRORS)  # one line, no traceback
    assert "non-finite gradient norm, parameters, optimizer state at step 5 " in message
    assert f"Last checkpoint (finite): {tmp_path / 'checkpoints' / '4'} (step 4)" in message
    assert _saved_arrays_finite(tmp_path) == {s: True for s in range(save_every, 5, save_every)}


def test_metrics_truncated_to_the_restored_step(runs, tmp_path):
    _, sums, killed = runs
    workdir = tmp_path / "w"
    shutil.copytree(killed, workdir)
    assert _steps_in_file(workdir) == list(range(1, 8))  # the killed run logged 7 steps, saved 6
    with open(workdir / "metrics.jsonl", "a") as f:
        f.write('{"step": 8, "ti')  # a line half-written when the run was killed
    trainer.train(make_config(), str(workdir), task=WideTask(), train_data=make_data())
    assert _steps_in_file(workdir) == list(range(1, 11))
    assert {line["step"]: line["train/idx_sum"] for line in metrics_io.read_lines(str(workdir / "metrics.jsonl"))} \
        == sums


def test_truncate_keeps_earlier_steps_byte_for_byte(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rows = [{"step": s, "a": s / 3} for s in (1, 2, 3, 2, 4)]  # an older resume's repeated step 2 is kept
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    assert metrics_io.truncate(str(path), 2) == 3
    assert path.read_text() == "".join(json.dumps(r) + "\n" for r in rows if r["step"] <= 2)
    assert metrics_io.truncate(str(tmp_path / "missing.jsonl"), 0) == 0


IMPOSSIBLE = [  # (override, value, what the message says)
    ("checkpoint_every", 0, "config.checkpoint_every: expected an integer >= 1, got 0"),
    ("num_epochs", -1, "config.num_epochs: expected an integer >= 1, got -1"),
    ("steps_per_epoch", 0, "config.steps_per_epoch: expected an integer >= 1, got 0"),
    ("log_every", 0, "config.log_every: expected an integer >= 1, got 0"),
    ("eval_every", -5, "config.eval_every: expected an integer >= 1, got -5"),
    ("keep_checkpoints", 0, "config.keep_checkpoints: expected an integer >= 1, got 0"),
    ("data.batch_size", 0, "config.data.batch_size: expected an integer >= 1, got 0"),
    ("best_mode", "median", "config.best_mode: expected 'min' or 'max', got 'median'"),
    ("optim.grad_clip", float("inf"), "config.optim.grad_clip: expected a finite number"),
    ("optim.lr.start_lr", 0.0, "config.optim.lr.start_lr: expected a finite rate > 0 (a log schedule), got 0.0"),
    ("optim.lr.end_lr", float("nan"), "config.optim.lr.end_lr: expected a finite rate > 0 (a log schedule), got nan"),
    ("optim.name", "lion", "optim.name must be 'sgd' or 'adam', got 'lion'"),
]


@pytest.mark.parametrize("key,value,message", IMPOSSIBLE, ids=[k for k, _, _ in IMPOSSIBLE])
def test_impossible_settings_rejected_before_any_work(tmp_path, key, value, message):
    cfg, (*parents, leaf) = make_config(), key.split(".")
    node = cfg
    for part in parents:
        node = node[part]
    node[leaf] = value

    def no_data():
        raise AssertionError("the data pipeline was built before the settings were checked")

    with pytest.raises(ValueError) as err:
        trainer.train(cfg, str(tmp_path / "w"), task=WideTask(), train_data=no_data)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "w").exists()
    with pytest.raises(ValueError, match=re.escape(message)):
        train_mode.run(cfg, str(tmp_path / "mode"))  # --mode=train: before the dataset build
    assert not (tmp_path / "tfds").exists() and not (tmp_path / "mode").exists()
