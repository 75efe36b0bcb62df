"""Tracker post-processing on hand-made network outputs (pysot SiamRPN anchors, SiamBAN points, SiamFC scales),
the cv2-cubic response upsampling, and batched tracking == single-sequence tracking, on one device or four."""

import os
import subprocess
import sys
import textwrap

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import families
from jaxtrack.track import batched, siamese


class FakeModel:
    """Stands in for a Flax model: `track` returns the given head outputs whatever the crop."""

    def __init__(self, out):
        self.out = out

    def apply(self, variables, img, arg, method):
        return {"z": (img,), "box_wh": arg} if method == "template" else self.out


DELTAS = (0.25, -0.125, np.log(1.5), np.log(0.75))


def rpn_output(peak=(14, 10, 2), deltas=DELTAS, n=25, k=5):
    """cls [1, n, n, 2K] background everywhere but a foreground peak at anchor (i, j, k); loc [1, n, n, 4K]."""
    cls = np.zeros((1, n, n, 2 * k), np.float32)
    cls[..., :k], cls[..., k:] = 5.0, -5.0
    i, j, a = peak
    cls[0, i, j, a], cls[0, i, j, k + a] = -5.0, 5.0
    loc = np.zeros((1, n, n, 4 * k), np.float32)
    loc[0, i, j, np.arange(4) * k + a] = deltas
    return {"cls": jnp.asarray(cls), "loc": jnp.asarray(loc)}


def test_rpn_decode_known_anchor():
    score, pred = siamese.rpn_decode(siamese.RPNConfig(), rpn_output(), 255)
    assert score.shape == (5, 25, 25) and pred.shape == (5, 25, 25, 4)
    # anchor (ratio 1): 64 x 64 at (-16, 16) from the crop centre; deltas move it to (0, 8), size 96 x 48
    np.testing.assert_allclose(np.asarray(pred[2, 14, 10]), [0.0, 8.0, 96.0, 48.0], atol=1e-4)
    assert float(score[2, 14, 10]) > 0.9999 and float(jnp.delete(score.ravel(), 2 * 625 + 14 * 25 + 10).max()) < 1e-4


def test_rpn_full_step_on_handmade_response():
    config = siamese.RPNConfig(penalty_k=0.0, window_influence=0.0, lr=1.0)
    model = FakeModel(rpn_output())
    frame = np.full((200, 300, 3), 90, np.uint8)
    state = siamese.init_state(model, config, None, frame, jnp.array([100.0, 80.0, 40.0, 30.0]))
    _, box, score = jax.jit(lambda s, f: siamese.step(model, config, None, s, f))(state, frame)
    scale_z = 127 / np.sqrt((40 + 35) * (30 + 35))
    center = np.array([100 + 39 / 2, 80 + 29 / 2]) + np.array([0.0, 8.0]) / scale_z
    size = np.array([96.0, 48.0]) / scale_z  # lr = 1 * score (~1)
    np.testing.assert_allclose(np.asarray(box), [*(center - size / 2), *size], atol=2e-2)
    assert float(score) > 0.9999


def test_ban_decode_known_point():
    cls = np.zeros((1, 25, 25, 2), np.float32)
    cls[0, 5, 20] = [-4.0, 4.0]
    loc = np.ones((1, 25, 25, 4), np.float32)
    loc[0, 5, 20] = [10, 20, 30, 40]
    score, pred = siamese.ban_decode(siamese.BANConfig(), {"cls": jnp.asarray(cls), "loc": jnp.asarray(loc)}, 255)
    # point (64, -56) from the centre; ltrb -> corners (54, -76, 94, -16)
    np.testing.assert_allclose(np.asarray(pred[0, 5, 20]), [74.0, -46.0, 40.0, 60.0], atol=1e-4)
    assert int(jnp.argmax(score.ravel())) == 5 * 25 + 20


def test_cubic_matrix_matches_cv2():
    r = np.random.default_rng(1).standard_normal((17, 17)).astype(np.float32)
    m = siamese.cubic_matrix(17, 272)
    np.testing.assert_allclose(m @ r @ m.T, cv2.resize(r, (272, 272), interpolation=cv2.INTER_CUBIC), atol=1e-4)


@pytest.mark.parametrize("side_peak, expected_scale", [(1.03, 2), (1.02, 1)])
def test_siamfc_scale_selection(side_peak, expected_scale):
    config = siamese.SiamFCConfig(window_influence=0.0)
    resp = np.zeros((3, 17, 17), np.float32)
    resp[1, 8, 9] = 1.0  # middle scale: one cell right of the centre
    resp[2, 8, 8] = side_peak  # larger scale: centred, penalised by 0.9745
    disp, scale_id, _ = siamese.siamfc_select(config, jnp.asarray(resp), 255.0)
    assert int(scale_id) == expected_scale
    expected_dx = 8.0 if expected_scale == 1 else 0.0  # one response cell = total_stride px at x_sz = 255
    np.testing.assert_allclose(np.asarray(disp), [expected_dx, 0.0], atol=0.3 * config.scale_step)


def test_siamfc_defaults_are_published():
    c = families.get("siamfc").tracker
    assert (c.scale_num, c.scale_step, c.scale_penalty, c.scale_lr, c.window_influence, c.response_up) == (
        3, 1.0375, 0.9745, 0.59, 0.176, 16)
    np.testing.assert_allclose(c.scale_factors, [1 / 1.0375, 1.0, 1.0375], rtol=1e-6)


def test_batched_equals_single_runs():
    kwargs = {"backbone_args": {"width_mult": 0.25}}
    model = families.get("siamfc").build(**kwargs)
    variables = model.init(jax.random.key(0), jnp.zeros((1, 127, 127, 3)), jnp.zeros((1, 255, 255, 3)))
    rng = np.random.default_rng(0)
    videos = [list(rng.integers(0, 256, (n, h, w, 3), np.uint8)) for n, h, w in ((4, 64, 80), (2, 72, 64), (3, 64, 64))]
    init = np.array([[20, 15, 18, 22], [30, 25, 12, 10], [10, 12, 30, 20]], np.float32)
    got, _ = batched.track_sequences(model, families.get("siamfc").tracker, variables, videos, init)
    tracker = siamese.Tracker("siamfc", model, families.get("siamfc").tracker, variables)
    for i, video in enumerate(videos):
        tracker.init(video[0], init[i])
        single = np.stack([init[i]] + [tracker.track(f)[0] for f in video[1:]])
        np.testing.assert_allclose(got[i, :len(video)], single, atol=1e-3)
        assert np.isnan(got[i, len(video):]).all()


MULTIDEVICE = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jaxtrack import families
    from jaxtrack.track import batched, siamese
    from jaxtrack import sharding
    assert jax.device_count() == 4, jax.devices()
    model = families.get("siamfc").build(backbone_args={"width_mult": 0.25})
    variables = model.init(jax.random.key(0), jnp.zeros((1, 127, 127, 3)), jnp.zeros((1, 255, 255, 3)))
    rng = np.random.default_rng(0)
    videos = [list(rng.integers(0, 256, (n, 64, 72, 3), np.uint8)) for n in (3, 2, 3)]
    init = np.array([[20, 15, 18, 22], [30, 25, 12, 10], [10, 12, 30, 20]], np.float32)
    one, _ = batched.track_sequences(model, families.get("siamfc").tracker, variables, videos, init)
    four, _ = batched.track_sequences(model, families.get("siamfc").tracker, variables, videos, init,
                                      mesh=sharding.make_mesh())
    assert four.shape == one.shape == (3, 3, 4)
    np.testing.assert_allclose(four, one, atol=1e-3)
    print("BATCHED MULTIDEVICE OK")
""")


def test_batched_tracking_over_four_devices():
    """Sequences split over 4 fake CPU devices (3 sequences: one padding slot) == one device (in a subprocess)."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", MULTIDEVICE], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and "BATCHED MULTIDEVICE OK" in out.stdout, out.stdout + out.stderr[-4000:]


def test_unknown_tracker_and_config():
    with pytest.raises(TypeError, match="config must be one of"):
        siamese.Tracker("siamfc", None, object(), {})
    with pytest.raises(TypeError, match="config must be one of"):
        siamese.step(None, object(), None, {}, np.zeros((4, 4, 3)))
