"""Experiment configs: every file has get_config and a describing docstring; every Siamese training config builds
its task, pairs, optimizer and (traced) model; `siamfc_synthetic` trains 2 steps through `run.run` on a tiny
synthetic TFDS dataset (config.json, checkpoints, metrics, eval, loss_curve.png, train_summary.json, resume). The
anchor and point families run the trainer's sharded step in test_train_tasks (a full `run.run` of them costs ~35 s
of compile).
"""

import importlib
import json

import jax
import numpy as np
import pytest

import experiments
from jaxtrack import families
from jaxtrack.modes import train as run
from jaxtrack.train import metrics_io, optim


def config(name):
    return importlib.import_module(f"experiments.{name}").get_config()


SIAMESE = [n for n in experiments.names()  # training experiments (the zoo's model experiments convert)
           if config(n).get("model", {}).get("name") in families.REGISTRY and config(n).mode == "train"]


@pytest.mark.parametrize("name", experiments.names())
def test_every_experiment_has_config_and_docstring(name):
    module = importlib.import_module(f"experiments.{name}")
    assert callable(getattr(module, "get_config", None)), f"experiments/{name}.py has no get_config()"
    assert experiments.describe(name), f"experiments/{name}.py has no docstring"
    assert config(name).to_dict()


def test_every_model_has_full_and_synthetic_experiments():
    variants = {n for n in SIAMESE if any(n.startswith(f"{f}_synthetic_") for f in families.REGISTRY)}  # *_reg
    main = set(SIAMESE) - variants
    assert {n.removesuffix("_synthetic") for n in main} == set(families.REGISTRY)
    assert main == set(families.REGISTRY) | {f"{n}_synthetic" for n in families.REGISTRY}


@pytest.mark.parametrize("name", SIAMESE)
def test_siamese_config_builds(name):
    c = config(name)
    assert c.mode == "train"
    task = families.get(c.model.name).make_task(c)
    pairs = run.pair_config(c.data.pairs)
    opt = optim.make_optimizer(c.optim, num_epochs=c.num_epochs, steps_per_epoch=c.steps_per_epoch)
    b = 2
    batch = {"template": np.zeros((b, pairs.template_size, pairs.template_size, 3), np.uint8),
             "search": np.zeros((b, pairs.search_size, pairs.search_size, 3), np.uint8),
             "template_box": np.full((b, 4), 32, np.float32), "search_box": np.full((b, 4), 100, np.float32),
             "negative": np.zeros(b, bool)}
    variables = jax.eval_shape(task.init, jax.random.key(0), batch)
    assert set(variables["params"]) >= {"backbone", "head"}
    assert jax.eval_shape(opt.tx.init, variables["params"]) is not None
    if name.endswith("_synthetic"):
        # sized for <= 10 min on 2 CPU cores: the longest, siamfc_synthetic's 2400 steps, takes 6 min 39 s
        assert c.num_epochs * c.steps_per_epoch <= 2400 and c.data.batch_size <= 16
        assert c.model.kwargs.get("backbone", "alexnet") != "resnet50"


@pytest.mark.parametrize("name", [n for n in SIAMESE if config(n).track])  # full-size: published crops
def test_tracker_crops_match_training_crops(name):
    """The tracker's crops, anchors and output grid are those the model was trained on."""
    from jaxtrack.track import siamese as track

    c = config(name)
    family = families.get(c.model.name)
    pairs, settings = run.pair_config(c.data.pairs), family.tracker_config(c.task.normalize, c.track.to_dict())
    assert (settings.exemplar_size, settings.instance_size) == (pairs.template_size, pairs.search_size)
    assert settings.context == pairs.context and settings.normalize == c.task.normalize
    if isinstance(settings, track.RPNConfig):
        assert settings.scales == tuple(c.task.targets.get("scales", (8.0,)))
    task = family.make_task(c)
    z = np.zeros((1, pairs.template_size, pairs.template_size, 3), np.float32)
    x = np.zeros((1, pairs.search_size, pairs.search_size, 3), np.float32)
    out = jax.eval_shape(task.model.init_with_output, jax.random.key(0), z, x, np.ones((1, 2), np.float32))[0]
    assert out["cls"].shape[1] % 2 == 1  # odd grid: a cell on the crop centre, as decode and targets assume


TINY_DATA = {"num_train": 3, "num_val": 2, "num_test": 1, "n_frames": 8, "n_shots": 1, "height": 64, "width": 64,
             "image_format": "jpeg"}


@pytest.mark.parametrize("name, evaluate", [("siamfc_synthetic", True)])  # the other families: test_train_tasks
def test_synthetic_trains_two_steps(tmp_path, name, evaluate):
    c = config(name)
    c.data.options = TINY_DATA
    c.data.batch_size, c.data.num_threads, c.data.eval_batches = 2, 1, int(evaluate)
    c.num_epochs, c.steps_per_epoch, c.log_every, c.checkpoint_every, c.eval_every = 1, 2, 1, 2, 2
    c.tensorboard = False
    workdir = tmp_path / "runs" / name
    summary = run.run(c, str(workdir))
    assert (tmp_path / "runs" / "tfds").is_dir()  # dataset under <workdir>/../tfds
    assert (workdir / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((workdir / "train_summary.json").read_text()) == summary
    assert summary["last_step"] == 2 and np.isfinite(summary["last_loss"]) and summary["pairs_per_sec"] > 0
    assert ("eval_loss" in summary) == evaluate
    metrics = metrics_io.read_metrics(workdir / "metrics.jsonl")
    assert json.loads((workdir / "config.json").read_text())["model"]["name"] == c.model.name  # loadable workdir
    assert list(metrics["train/loss"][0]) == [1, 2]
    if evaluate:  # a rerun resumes from the step-2 checkpoint: nothing left to train
        assert run.run(c, str(workdir))["last_step"] == 2


def test_eval_synthetic_lists_trained_models(tmp_path):
    from experiments import eval_synthetic

    (tmp_path / "siamban_synthetic" / "checkpoints").mkdir(parents=True)
    (tmp_path / "siamrpnpp_synthetic").mkdir()  # no checkpoints: not trained
    models = eval_synthetic.trained_models(str(tmp_path))
    assert [m["workdir"] for m in models] == [str(tmp_path / "siamban_synthetic")]
    assert models[0]["workdir"] == str(tmp_path / "siamban_synthetic") and models[0]["track"]["instance_size"] == 127
