"""`--mode=eval` table labels (`modes.eval.model_labels`): a family name stays the label while it is unique; two
models of one family get their experiment names (`_2` on equal ones) and their own result folders."""

import dataclasses

import numpy as np
import orbax.checkpoint as ocp
import pytest

from jaxtrack import config as config_lib
from jaxtrack import families
from jaxtrack import workdir as jt_workdir
from jaxtrack.eval import benchmark
from jaxtrack.modes import eval as eval_mode
from jaxtrack.train import checkpoint
from tests.test_eval_resume import eval_config


class Drift:
    """A family's tracker class that moves the initial box `w` px right per frame (w: the checkpoint's weight)."""

    def __init__(self, name, model, config, variables):
        self.name, self.model, self.config, self.variables = name, model, config, variables

    def init(self, frame, box):
        self.box = np.asarray(box, np.float32).copy()

    def track(self, frame):
        self.box[0] += float(self.variables["params"]["w"][0])
        return self.box.copy(), 1.0


@pytest.mark.parametrize("models, reserved, want", [
    ([("", "siamfc", "a")], (), ["siamfc"]),  # unique family: the label results on disk already use
    ([("", "siamfc", "a"), ("", "siammask", "b")], ("static",), ["siamfc", "siammask"]),
    ([("", "siammask", "siammask_synthetic"), ("", "siamfc", "f"), ("", "siammask", "siammask_r50_l3")], (),
     ["siammask_synthetic", "siamfc", "siammask_r50_l3"]),
    ([("", "siammask", "x"), ("", "siammask", "x"), ("", "siammask", "x")], (), ["x", "x_2", "x_3"]),
    ([("siamfc", "siammask", "a"), ("", "siamfc", "b")], (), ["siamfc", "b"]),  # a given label takes the name
    ([("", "static", "s")], ("static",), ["s"]),  # a baseline's name is taken
    ([("siamfc", "siamfc", "a"), ("", "siamfc", "siamfc")], (), ["siamfc", "siamfc_2"]),
])
def test_model_labels(models, reserved, want):
    assert eval_mode.model_labels(models, reserved) == want


@pytest.mark.parametrize("models, reserved, label", [([("x", "siamfc", "a"), ("x", "siamrpn", "b")], (), "x"),
                                                     ([("static", "siamfc", "a")], ("static",), "static")])
def test_equal_given_labels_are_an_error(models, reserved, label):
    with pytest.raises(ValueError, match=f"both labelled '{label}'; give them distinct"):
        eval_mode.model_labels(models, reserved)


def test_two_workdirs_of_one_family_get_two_labels_and_folders(tmp_path, monkeypatch):
    monkeypatch.setitem(families.REGISTRY, "siamfc", dataclasses.replace(families.get("siamfc"), tracker_class=Drift))
    saver = ocp.StandardCheckpointer()
    for workdir, name, w in (("synthetic", "siamfc_synthetic", 1.0), ("converted", "siamfc_alexnet", 2.0)):
        trained = config_lib.experiment("train")
        trained.name, trained.model.name = name, "siamfc"
        jt_workdir.write_config(tmp_path / workdir, trained)
        saver.save(tmp_path / workdir / "checkpoints" / "1" / checkpoint.STATE,
                   {"params": {"w": np.full(3, w, np.float32)}, "batch_stats": {}, "step": 1})
        saver.wait_until_finished()
    c = eval_config(1)
    c.eval.update(models=[{"workdir": str(tmp_path / "synthetic")}], checkpoints=str(tmp_path / "converted"),
                  baselines=["static"], vot=False)
    report = eval_mode.run(c, str(tmp_path / "eval"))
    root = tmp_path / "eval" / "eval" / "synthetic" / "results"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["siamfc_alexnet", "siamfc_synthetic", "static"]
    video = sorted(p.stem for p in (root / "static").glob("*.txt"))[0]
    first = {m: benchmark.read_result("otb", root, m, video).boxes for m in ("siamfc_synthetic", "siamfc_alexnet")}
    steps = np.arange(len(first["siamfc_synthetic"]))
    np.testing.assert_allclose(first["siamfc_synthetic"][:, 0] - first["siamfc_synthetic"][0, 0], steps)
    np.testing.assert_allclose(first["siamfc_alexnet"][:, 0] - first["siamfc_alexnet"][0, 0], 2 * steps)
    assert {"siamfc_synthetic", "siamfc_alexnet", "static"} <= set(report)
