"""Every registered tracker family goes the whole way: one trainer step into a workdir, its tracker loaded back from
that workdir (`workdir.load_tracker`) tracks a frame, and its exported tracker gives the same box. Two of them start
from given weights on the way: siamrpnpp from a variables-only checkpoint 0 (a `--mode=convert` workdir: fine-tuned
from step 0 with a fresh optimizer), siamban from a saved backbone (`model.init_from`: the trainer's init hook)."""

import functools

import grain
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import families, workdir
from jaxtrack.data import synthetic
from jaxtrack.track import export
from jaxtrack.train import checkpoint, init_from, trainer
from tests.test_train_tasks import TINY, make_batch
from tests.test_train_tasks import config as tiny_config

pytest.importorskip("flatbuffers", reason="jax.export serialization needs flatbuffers")


def one_batch(name: str):
    """() -> a checkpointable iterator repeating one tiny pair batch of family `name`."""
    batch = make_batch(*TINY[name][1:])
    return lambda: iter(grain.MapDataset.source([batch]).repeat().to_iter_dataset())


def experiment(name: str):
    c = tiny_config(name)
    z, x = TINY[name][1:]
    c.update(num_epochs=1, steps_per_epoch=1, log_every=1, checkpoint_every=1, tensorboard=False, progress=False)
    c.optim.update(name="adam", weight_decay=0.0)
    c.optim.warmup.epochs = 0
    c.optim.lr = {"type": "constant", "start_lr": 1e-3}
    c.track = {"exemplar_size": z, "instance_size": x}
    return c


def test_registry_names_every_family_once():
    assert families.names() == ["siamfc", "siamrpn", "siamrpnpp", "siamrpnpp_acm", "siamban", "siamban_acm",
                                "siammask", "siammask_acm"]
    assert families.names(evaluated=True) == families.names()
    with pytest.raises(KeyError, match="not a registered tracker family"):
        families.get("siamdw")


def given_weights(task, name, tmp_path):
    """siamrpnpp: a converted workdir (checkpoint 0, variables only); siamban: a saved backbone and the init hook.
    Returns (init hook, the given variables): initialised from another key than the trainer's, and
    head/cls_weight (3, 0, -3) for siamrpnpp."""
    variables = jax.jit(task.init)(jax.random.key(7), make_batch(*TINY[name][1:]))
    if name == "siamrpnpp":
        variables["params"]["head"]["cls_weight"] = jnp.float32([3.0, 0.0, -3.0])
        init_from.save_variables(tmp_path, variables)
        return None, variables
    init_from.save_backbone(tmp_path / "imagenet", {c: variables[c]["backbone"] for c in variables})
    return init_from.backbone_init(tmp_path / "imagenet"), variables


@pytest.mark.parametrize("name", families.names())
def test_family_trains_tracks_and_exports(name, tmp_path):
    c = experiment(name)
    family = families.get(name)
    task = family.make_task(c)
    init, given = given_weights(task, name, tmp_path) if name in ("siamrpnpp", "siamban") else (None, None)
    state = trainer.train(c, str(tmp_path), task=task, train_data=one_batch(name), init=init)
    assert int(state.step) == 1
    if given is not None:  # one Adam step at 1e-3 from the given weights
        leaf = ("head", "cls_weight") if name == "siamrpnpp" else ("backbone", "conv1", "kernel")
        pick = lambda tree: functools.reduce(lambda d, k: d[k], leaf, tree)
        np.testing.assert_allclose(pick(state.params), pick(given["params"]), atol=2e-3)
        assert checkpoint.steps(tmp_path) == ([0, 1] if name == "siamrpnpp" else [1])
    workdir.write_config(tmp_path, c)
    tracker = workdir.load_tracker(tmp_path)
    assert tracker.config.instance_size == TINY[name][2] and tracker.config.normalize == "unit"
    video = synthetic.make_video(0, seed=1, config=synthetic.SyntheticConfig(height=96, width=112, n_frames=5,
                                                                              n_shots=1, min_shot_len=5))
    tracker.init(video.frames[0], video.boxes[0])
    box, score = tracker.track(video.frames[1])
    assert box.shape == (4,) and np.isfinite(box).all() and np.isfinite(score)
    export.export_tracker(tracker, tmp_path / "export", platforms=("cpu",))
    exported = export.ExportedTracker(tmp_path / "export")
    exported.init(video.frames[0], video.boxes[0])
    np.testing.assert_allclose(exported.track(video.frames[1])[0], box, rtol=1e-5, atol=1e-3)
