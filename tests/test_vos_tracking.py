"""`--mode=eval` tracking DAVIS / YouTube-VOS itself (`jaxtrack.eval.vos_tracking`): the objects' merge against a
per-pixel loop of SiamMask's rule; a tiny random SiamMask on a 2-object DAVIS fixture, whose results folder scores as
a direct `jaxtrack.eval.vos` computation on the PNGs written, and resumes without tracking again; the static box
baseline on sparse YouTube-VOS fixtures against a hand-built expectation."""

import json

import jax
import numpy as np
import pytest
from PIL import Image

from jaxtrack import boxes, families, workdir
from jaxtrack import config as config_lib
from jaxtrack.data.readers import davis
from jaxtrack.eval import vos, vos_tracking
from jaxtrack.modes import eval as eval_mode
from jaxtrack.train import init_from
from tests.test_train_tasks import TINY, make_batch
from tests.test_train_tasks import config as tiny_config
from tests.test_youtube_vos import STEMS, write_split


def test_merge_matches_a_per_pixel_loop():
    """Random maps with ties and untracked (-1) stretches: the label of a pixel is the id of the first object of
    the highest map where that map exceeds the threshold (foolwood/SiamMask `track_vos`), 0 elsewhere."""
    rng = np.random.default_rng(0)
    n_obj, n, h, w = 3, 4, 5, 6
    maps = np.round(rng.random((n_obj, n, h, w)) * 4) / 4  # 0, .25, ..., 1: many ties
    maps[1, :2] = -1  # object 2 starts in frame 2
    maps[2, 3] = -1  # object 3 ends in frame 2
    ids, thr = [2, 5, 7], 0.3
    merge = vos_tracking.Merge(n, (h, w))
    for k in range(n_obj):
        for t in range(n):
            if maps[k, t, 0, 0] != -1:
                merge.add(k, t, maps[k, t].astype(np.float32))
    want = np.zeros((n, h, w), np.uint8)
    for t in range(n):
        for y in range(h):
            for x in range(w):
                best, arg = -1.0, 0
                for k in range(n_obj):
                    if maps[k, t, y, x] > best:
                        best, arg = maps[k, t, y, x], k
                want[t, y, x] = ids[arg] if best > thr else 0
    np.testing.assert_array_equal(merge.labels(ids, thr), want)
    assert (want == 2).any() and (want == 5).any() and (want == 7).any() and (want == 0).any()


H, W, T = 40, 56, 5


@pytest.fixture()
def davis_tree(tmp_path):
    """One sequence "two" of T frames: a bright square (object 1) moving right, a dim bar (object 2)."""
    root = tmp_path / "DAVIS"
    for t in range(T):
        lab = np.zeros((H, W), np.uint8)
        lab[8:20, 6 + 2 * t:18 + 2 * t] = 1
        lab[26:34, 30:48] = 2
        frame = np.full((H, W, 3), 30, np.uint8)
        frame[lab == 1], frame[lab == 2] = 220, 120
        img = root / "JPEGImages" / "480p" / "two" / f"{t:05d}.jpg"
        img.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(frame).save(img)
        ann = root / "Annotations" / "480p" / "two" / f"{t:05d}.png"
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_bytes(davis.label_png_bytes(lab))
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("two\n")
    return root


def tiny_siammask(path):
    """A converted-style workdir (variables-only checkpoint 0) of a randomly initialised tiny SiamMask."""
    c = tiny_config("siammask")
    z, x = TINY["siammask"][1:]
    c.track = {"exemplar_size": z, "instance_size": x}
    task = families.get("siammask").make_task(c)
    init_from.save_variables(path, jax.jit(task.init)(jax.random.key(0), make_batch(z, x)))
    workdir.write_config(path, c)
    return str(path)


def test_davis_tracked_by_tiny_siammask(davis_tree, tmp_path, monkeypatch):
    c = config_lib.experiment("eval")
    c.eval.update(benchmark="davis2017", data_root=str(davis_tree), baselines=(),
                  models=[{"workdir": tiny_siammask(tmp_path / "model"), "label": "sm"}])
    rows = eval_mode.run(c, str(tmp_path / "w"))
    out = tmp_path / "w" / "eval" / "davis2017"
    assert list(rows) == ["sm", "sm_box"]
    gt = np.stack([davis.read_label_png(p) for p in sorted((davis_tree / "Annotations" / "480p" / "two").iterdir())])
    for name, row in rows.items():
        written = np.stack([davis.read_label_png(out / "results" / name / "two" / f"{t:05d}.png") for t in range(T)])
        np.testing.assert_array_equal(written[0], gt[0])  # each object's given mask in frame 0
        assert set(np.unique(written)) <= {0, 1, 2} and (written[1:] > 0).any()
        js = [vos.j_measure(written[1:-1] == k, gt[1:-1] == k) for k in (1, 2)]
        fs = [vos.f_measure(written[1:-1] == k, gt[1:-1] == k) for k in (1, 2)]
        jm, fm = np.mean([vos.statistics(j)[0] for j in js]), np.mean([vos.statistics(f)[0] for f in fs])
        assert row["J-Mean"] == pytest.approx(jm, abs=1e-12) and row["F-Mean"] == pytest.approx(fm, abs=1e-12)
        assert row["J&F-Mean"] == pytest.approx((jm + fm) / 2, abs=1e-12)
        lines = (out / name / "per-sequence_results-val.csv").read_text().splitlines()
        assert lines == ["Sequence,J-Mean,F-Mean"] + [
            f"two_{k},{vos.statistics(j)[0]:.3f},{vos.statistics(f)[0]:.3f}" for k, j, f in zip((1, 2), js, fs)]
    assert json.loads((out / "summary.json").read_text()) == rows
    assert "| sm_box |" in (out / "summary.md").read_text()

    calls = []
    monkeypatch.setattr(vos_tracking, "track_sequence", lambda *a: calls.append(a) or {})
    assert eval_mode.run(c, str(tmp_path / "w")) == rows and not calls  # resumed: nothing tracked again


def expected_static(seq) -> np.ndarray:
    """Label maps of the static box baseline: each object's first-frame mask there, then its tight box filled
    through its last frame; ties to the first object, as the loop of `test_merge_matches_a_per_pixel_loop`."""
    n, (h, w) = len(seq.video), seq.video.masks.shape[1:]
    maps = np.full((len(seq.objects), n, h, w), -1.0)
    for k, obj in enumerate(seq.objects):
        given = seq.video.masks[obj.first] == obj.id
        maps[k, obj.first] = given
        maps[k, obj.first + 1:obj.last + 1] = boxes.box_mask(boxes.mask_to_xywh(given), (h, w))
    ids = np.array([o.id for o in seq.objects])
    return np.where(maps.max(0) > 0.15, ids[maps.argmax(0)], 0)


def test_youtube_vos_static_baseline_sparse_scores(tmp_path):
    from jaxtrack.data.readers import youtube_vos

    write_split(tmp_path / "ytvos", "train")
    c = config_lib.experiment("eval")
    c.eval.update(benchmark="youtube_vos", data_root=str(tmp_path / "ytvos"), vos_split="train",
                  baselines=("static",))
    rows = eval_mode.run(c, str(tmp_path / "w"))
    out = tmp_path / "w" / "eval" / "youtube_vos"
    js = []
    for seq in youtube_vos.read_youtube_vos(tmp_path / "ytvos", "train"):
        want = expected_static(seq)
        names = [p.rsplit("/", 1)[1].replace(".jpg", ".png") for p in seq.video.frame_paths]
        got = np.stack([davis.read_label_png(out / "results" / "static_box" / seq.name / n) for n in names])
        np.testing.assert_array_equal(got, want)
        for obj in seq.objects:  # every frame annotated (train): the frames after the object's first, last included
            frames = np.arange(obj.first + 1, len(seq.video))
            js.append(vos.j_measure(want[frames] == obj.id, seq.video.masks[frames] == obj.id).mean())
    assert rows["static_box"]["J-Mean"] == pytest.approx(np.mean(js), abs=1e-12)
    assert "ground truth on sparse frames only" in (out / "summary.md").read_text()

    write_split(tmp_path / "ytvos", "valid", {"a": {"1": ("person", STEMS)}})  # one annotation: frame 00000
    c.eval.vos_split = "valid"
    rows = eval_mode.run(c, str(tmp_path / "w"))
    assert rows == {"static_box": None}  # no ground truth past each object's first frame: results only
    assert len(list((out / "results" / "static_box" / "a").glob("*.png"))) == 5
    assert "results only" in (out / "summary.md").read_text()
