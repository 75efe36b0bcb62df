"""DAT online tracking: a short tracked video without recompilation per frame, one online update against a
hand-written SGD step with numpy hard-negative mining, and the box regression against a least-squares form."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxtrack import families
from jaxtrack.data import synthetic
from jaxtrack.models.dat import DATNet
from jaxtrack.track import dat

NET = DATNet(num_domains=2, widths=(8, 8, 8), fc_dim=16, dropout=0.0)
SMALL = dat.DATConfig(crop_size=64, n_pos_init=16, n_neg_init=64, iters_init=3, n_samples=32, n_bbreg=40,
                      n_pos_update=8, n_neg_update=16, iters_update=2, batch_pos=4, batch_neg=4, batch_neg_cand=16,
                      frames_short=3, frames_long=5, long_interval=2, reg_weight=5.0)


def _variables():
    return NET.init(jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)), jnp.zeros((1, 1, 4)), jnp.zeros(1, jnp.int32))


def test_short_video_tracks_without_recompiling():
    video = synthetic.make_videos(1, seed=2, config=synthetic.SyntheticConfig(
        height=72, width=96, n_frames=9, n_shots=1, min_shot_len=9, sprite_size=24), split="test")[0]
    tracker = families.get("dat").tracker_class("dat", NET, SMALL, _variables())
    tracker.init(video.frames[0], video.boxes[0])
    tracker.track(video.frames[1])
    tracker.track(video.frames[2])  # frame 2: a long-term update (and any failure a short-term one)
    sizes = (tracker._update._cache_size(), tracker._scores._cache_size(), tracker._pool._cache_size())
    for t in range(3, len(video)):
        box, score = tracker.track(video.frames[t])
        assert box.shape == (4,) and np.isfinite(box).all() and box[2] > 0 and np.isfinite(score)
    assert sizes[0] == 2  # the first-frame training and the updates: nothing per frame
    assert (tracker._update._cache_size(), tracker._scores._cache_size(), tracker._pool._cache_size()) == sizes
    assert np.isfinite(tracker.last_update_loss)


def test_one_online_update_matches_a_hand_written_step():
    cfg = dataclasses.replace(SMALL, reg_weight=0.0, fc6_lr_mult=3.0)
    tracker = dat.DATTracker("dat", NET, cfg, _variables())
    fresh = tracker.model.init(jax.random.PRNGKey(1), jnp.zeros((1, 32, 32, 3)), jnp.zeros((1, 1, 4)),
                               jnp.zeros(1, jnp.int32))["params"]
    online = {**{k: tracker.params[k] for k in ("fc4", "fc5")}, "fc6_kernel": fresh["fc6_kernel"],
              "fc6_bias": fresh["fc6_bias"] + jnp.array([[0.0, 0.3]])}
    k1, k2 = jax.random.split(jax.random.PRNGKey(3))
    pos = jax.random.normal(k1, (6, 3, 3, 8))
    neg = jax.random.normal(k2, (20, 3, 3, 8))
    pos_idx, neg_idx = jnp.array([[0, 2, 4, 5]]), jnp.array([np.arange(3, 19)])
    opt_state = tracker.tx.init(online)
    new, _, loss = tracker._update(online, opt_state, pos, neg, pos_idx, neg_idx, jnp.float32(0.05),
                                   jax.random.PRNGKey(0))

    def head(p, r):
        x = np.asarray(r).reshape(len(r), -1)
        h = np.maximum(x @ np.asarray(p["fc4"]["kernel"]) + np.asarray(p["fc4"]["bias"]), 0)
        h = np.maximum(h @ np.asarray(p["fc5"]["kernel"]) + np.asarray(p["fc5"]["bias"]), 0)
        return h @ np.asarray(p["fc6_kernel"][0]) + np.asarray(p["fc6_bias"][0])

    cand = np.asarray(neg)[np.arange(3, 19)]
    hard = cand[np.argsort(-head(online, cand)[:, 1])[:4]]  # the 4 hardest negatives by positive score
    rois = jnp.concatenate([pos[jnp.array([0, 2, 4, 5])], jnp.asarray(hard)])
    labels = jnp.array([1] * 4 + [0] * 4)

    def ce(p):
        s = tracker.model.apply({"params": {**tracker.params, **p}}, rois[None], jnp.zeros(1, jnp.int32),
                                method=tracker.model.head)[0]
        return jnp.mean(-jax.nn.log_softmax(s)[jnp.arange(8), labels])

    want_loss, g = jax.value_and_grad(ce)(online)
    g = {k: jax.tree.map(lambda a: a * 3.0, v) if k.startswith("fc6") else v for k, v in g.items()}
    norm = optax.tree.norm(g)
    g = jax.tree.map(lambda a: a * jnp.minimum(1.0, 10.0 / norm), g)
    want = jax.tree.map(lambda p, a: p - 0.05 * (a + 5e-4 * p), online, g)  # first SGD step: no momentum yet
    assert abs(float(loss) - float(want_loss)) < 1e-5
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(want)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


def test_ridge_fit_matches_augmented_least_squares():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 4))
    w = dat.ridge_fit(x, y, 2.0)
    a = np.block([[x, np.ones((30, 1))], [np.sqrt(2.0) * np.eye(5), np.zeros((5, 1))]])
    ref = np.linalg.lstsq(a, np.vstack([y, np.zeros((5, 4))]), rcond=None)[0]
    np.testing.assert_allclose(w, ref, rtol=1e-8, atol=1e-10)
    samples = np.array([[10.0, 12.0, 20.0, 30.0], [5.0, 6.0, 12.0, 8.0]])
    target = np.array([11.0, 10.0, 22.0, 26.0])
    np.testing.assert_allclose(dat.apply_deltas(samples, dat.box_deltas(samples, target)), [target, target],
                               atol=1e-9)
