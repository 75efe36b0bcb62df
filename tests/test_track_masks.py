"""Masks and rotated boxes through the tracker interface: box masks and corners (jaxtrack.boxes), a masked run
(eval.benchmark.run_sequence), and --mode=track's palette PNGs / polygons read back by the DAVIS reader."""

import numpy as np
from etils import epath
from PIL import Image

from jaxtrack import boxes
from jaxtrack.data.readers import davis
from jaxtrack.data.video import Video
from jaxtrack.eval import benchmark, vos_benchmark
from jaxtrack.modes import track as track_mode


def test_box_mask_and_corners():
    m = np.zeros((9, 12), bool)
    m[2:5, 3:10] = True
    m[4, 1] = True
    want = np.zeros((9, 12), np.uint8)
    want[2:5, 1:10] = 1  # the tight box of m, filled
    np.testing.assert_array_equal(boxes.box_mask(boxes.mask_to_xywh(m), m.shape), want)
    np.testing.assert_array_equal(boxes.xywh_to_corners([1.5, 2, 3, 4]), [[1.5, 2], [4.5, 2], [4.5, 6], [1.5, 6]])


class BoxStub:
    """Moves a box one pixel right per frame."""

    def init(self, frame, box):
        self.box = np.asarray(box, np.float32)

    def track(self, frame):
        self.box = self.box + np.float32([1, 0, 0, 0])
        return self.box, 0.5


class MaskedStub:
    """BoxStub with a mask: the 4 x 3 box's left half, and a polygon."""

    last_mask = last_polygon = None

    def init(self, frame, box):
        self.box, self.last_mask, self.last_polygon = np.asarray(box, np.float32), None, None

    def track(self, frame):
        self.box = self.box + np.float32([1, 0, 0, 0])
        x, y = int(self.box[0]), int(self.box[1])
        self.last_mask = np.zeros(frame.shape[:2], np.uint8)
        self.last_mask[y:y + 3, x:x + 2] = 1
        self.last_polygon = np.full((4, 2), float(x), np.float32)
        return self.box, 0.5


def _video(tmp_path, n=4):
    frames = np.zeros((n, 10, 16, 3), np.uint8)
    paths = []
    for t in range(n):
        path = tmp_path / f"f{t:03d}.jpg"
        Image.fromarray(frames[t]).save(path)
        paths.append(str(path))
    bxs = np.tile(np.float32([2, 3, 4, 3]), (n, 1))
    return Video(name="seq", frame_paths=tuple(paths), boxes=bxs)


def test_masked_run_and_mode_track_outputs(tmp_path):
    video = _video(tmp_path)
    run = benchmark.run_sequence(MaskedStub(), video)
    assert run.masks.shape == (4, 10, 16) and run.polygons.shape == (4, 4, 2)
    np.testing.assert_array_equal(run.masks[0], boxes.box_mask([2, 3, 4, 3], (10, 16)))
    assert run.masks[2].sum() == 6 and run.masks[2][3, 4] == 1 and run.masks[2][3, 3] == 0
    np.testing.assert_array_equal(run.polygons[0], [[2, 3], [6, 3], [6, 6], [2, 6]])
    plain = benchmark.run_sequence(BoxStub(), video)
    assert plain.masks is None and plain.polygons is None

    out = epath.Path(tmp_path / "track")
    track_mode.write_masks(out, video, run)
    with Image.open(out / "seq" / "f002.png") as im:
        assert im.mode == "P" and im.getpalette()[3:6] == [128, 0, 0]  # DAVIS's colour of object 1
    gt = Video(name="seq", frame_paths=video.frame_paths, masks=run.masks)
    np.testing.assert_array_equal(vos_benchmark.read_results(out, gt)[0], run.masks.astype(bool))
    polygons = np.loadtxt(out / "seq_polygons.txt", delimiter=",")
    np.testing.assert_allclose(polygons.reshape(4, 4, 2), run.polygons)
    np.testing.assert_array_equal(davis.read_label_png(out / "seq" / "f000.png"), run.masks[0])


def test_vos_scores_of_in_memory_runs(tmp_path):
    """evaluate_runs against closed forms: the ground truth itself scores J = F = 1; the left half of a 10 x 10
    square scores J = 0.5 on every frame (J-Mean 0.5, J-Recall 0: none above 0.5, J-Decay 0)."""
    masks = np.zeros((5, 32, 32), np.uint8)
    masks[:, 8:18, 8:18] = 1
    frames = np.zeros((5, 32, 32, 3), np.uint8)
    video = Video(name="sq", frames=frames, masks=masks, boxes=np.tile(np.float32([8, 8, 10, 10]), (5, 1)))
    half = masks.copy()
    half[:, :, 13:] = 0
    rows = vos_benchmark.evaluate_runs([video], {"exact": [masks], "half": [half]}, tmp_path)
    assert rows["exact"]["J-Mean"] == 1.0 and rows["exact"]["F-Mean"] == 1.0
    assert rows["half"]["J-Mean"] == 0.5 and rows["half"]["J-Recall"] == 0.0 and rows["half"]["J-Decay"] == 0.0
    assert (tmp_path / "half" / "global_results-test.csv").exists()
    assert "| half |" in (tmp_path / "summary.md").read_text()


def test_mode_eval_synthetic_vos_scores_box_filled_baselines(tmp_path):
    from jaxtrack import config as config_lib
    from jaxtrack.modes import eval as eval_mode

    c = config_lib.experiment("eval")
    c.eval.update({"benchmark": "synthetic_vos", "baselines": ["static"], "num_videos": 2,
                   "synthetic": {"height": 64, "width": 64, "n_frames": 8, "n_shots": 1, "min_shot_len": 8}})
    rows = eval_mode.run(c, str(tmp_path))
    assert list(rows) == ["static_box"] and 0 < rows["static_box"]["J-Mean"] < 1
    assert (tmp_path / "eval" / "synthetic_vos" / "summary.md").exists()
