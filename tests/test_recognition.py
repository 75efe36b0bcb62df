"""Action recognition models, task, evaluation and `--mode=train`: the reversed-order test on heads trained here on
planted features (TSN exactly at chance on time-reverse pairs and unchanged backwards; TRN right forwards and wrong
backwards), padded segments reaching no logit, the metrics against hand counts, and a 2-step training run."""

import importlib
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxtrack.eval import recognition
from jaxtrack.models.recognition import Recognizer, TRNHead, TSNHead
from jaxtrack.modes import train as train_mode


def planted(n: int, seed: int):
    """[2n + n, K=4, 1, D=3] segment features: class 0 a ramp up in dim 0, class 1 the same clips backwards, class 2
    (appearance) a high dim 2; labels."""
    rng = np.random.default_rng(seed)
    start, step = rng.uniform(-1, 0, n), rng.uniform(0.3, 0.6, n)
    ramp = start[:, None] + step[:, None] * np.arange(4)
    up = np.stack([ramp, rng.normal(0, 0.3, (n, 4)), np.zeros((n, 4))], -1)
    appearance = np.stack([rng.uniform(-1, 1, (n, 4)), rng.normal(0, 0.3, (n, 4)), np.ones((n, 4))], -1)
    feats = np.concatenate([up, up[:, ::-1], appearance]).astype(np.float32)[:, :, None]
    return feats, np.repeat(np.arange(3), n)


def train_head(head, feats, labels, steps=300):
    x, mask = jnp.asarray(feats[:, :, 0]), jnp.ones(feats.shape[:2], bool)
    params = head.init({"params": jax.random.key(0), "tuples": jax.random.key(1)}, x, mask)["params"]
    opt = optax.adam(1e-2)
    state = opt.init(params)

    @jax.jit
    def step(params, state, key):
        def loss(p):
            logits = head.apply({"params": p}, x, mask, train=True, rngs={"tuples": key})
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
        grads = jax.grad(loss)(params)
        updates, state = opt.update(grads, state)
        return optax.apply_updates(params, updates), state

    for i in range(steps):
        params, state = step(params, state, jax.random.key(i))
    return lambda batch: head.apply({"params": params}, batch["frames"][:, :, 0], batch["mask"])


def test_reversed_order_collapses_trn_and_leaves_tsn():
    feats, labels = planted(40, 0)
    test_feats, test_labels = planted(40, 1)
    batch = {"frames": test_feats, "mask": np.ones(test_feats.shape[:2], bool), "index": np.arange(len(test_labels)),
             "label": test_labels}
    groups = {"order_only": (0, 1), "appearance": (2,)}
    out = {}
    for name, head in (("tsn", TSNHead(num_classes=3)), ("trn", TRNHead(num_classes=3, hidden=16))):
        predict = train_head(head, feats, labels)
        for reverse in (False, True):
            scores = recognition.video_scores(predict, [batch], len(test_labels), reverse=reverse)
            out[name, reverse] = recognition.accuracy(scores, test_labels, groups).groups
    # TSN sees the same multiset of segments in a clip of class 0 and its reverse in class 1: exactly one is right
    assert out["tsn", False]["order_only"] <= 0.5 and out["tsn", False]["appearance"] > 0.9
    assert out["tsn", True] == out["tsn", False]
    assert out["trn", False]["order_only"] > 0.9 and out["trn", False]["appearance"] > 0.9
    assert out["trn", True]["order_only"] < 0.1 and out["trn", True]["appearance"] > 0.9


@pytest.mark.parametrize("head", ["tsn", "trn", "eco_lite", "eco"])
def test_padded_segments_reach_no_logit(head):
    """A clip with 2 real segments of 4 gives the same logits whatever the padded frames hold (BatchNorm on running
    statistics at inference, so clips do not interact)."""
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((2, 4, 1, 16, 16, 3)).astype(np.float32)
    mask = np.array([[True, True, False, False], [True] * 4])
    model = Recognizer(num_classes=5, head=head, head_kwargs={"tuples_per_scale": 2} if head == "trn" else {})
    variables = model.init(jax.random.key(0), frames, mask)
    junk = frames.copy()
    junk[0, 2:] = 100.0
    a, b = model.apply(variables, frames, mask), model.apply(variables, junk, mask)
    assert a.shape == (2, 5)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def test_metrics_against_hand_counts():
    scores = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]])
    labels = np.array([0, 1, 0, 2])
    assert recognition.topk_accuracy(scores, labels, 1) == 0.5  # rows 0 and 3
    assert recognition.topk_accuracy(scores, labels, 2) == 0.75  # row 2's label is third
    assert recognition.topk_accuracy(scores, labels, 3) == 1.0
    acc = recognition.accuracy(scores, labels, {"first": (0,), "rest": (1, 2)})
    assert acc.groups == {"first": 0.5, "rest": 0.5}
    np.testing.assert_array_equal(acc.confusion, [[1, 1, 0], [0, 0, 1], [0, 0, 1]])
    # two clips of video 0 average their softmax; reversing flips segments and snippet frames
    logits = {0: np.array([[2.0, 0.0]]), 1: np.array([[0.0, 1.0]])}
    batches = [{"index": np.array([0]), "clip": np.array([c]), "frames": np.zeros((1, 2, 1, 1)),
                "mask": np.ones((1, 2), bool)} for c in (0, 1)]
    got = recognition.video_scores(lambda b: logits[int(b["clip"][0])], batches, 1)
    want = (jax.nn.softmax(logits[0][0]) + jax.nn.softmax(logits[1][0])) / 2
    np.testing.assert_allclose(got[0], np.asarray(want), rtol=1e-6)
    frames = np.arange(2 * 3 * 2).reshape(1, 3, 2, 1, 1, 2)
    rev = recognition.reverse_order({"frames": frames, "mask": np.array([[True, True, False]])})
    np.testing.assert_array_equal(rev["frames"][0, 0, 0], frames[0, 2, 1])
    np.testing.assert_array_equal(rev["mask"], [[False, True, True]])


def test_train_mode_trains_and_evaluates(tmp_path):
    c = importlib.import_module("experiments.trn_synthetic").get_config()
    c.num_epochs, c.steps_per_epoch, c.log_every, c.eval_every, c.checkpoint_every = 1, 2, 1, 2, 2
    c.progress = False
    c.data.batch_size = 4
    c.data.options.update(num_train=10, num_val=10, num_test=10, size=16)
    c.data.data_dir = str(tmp_path / "tfds")
    c.model.kwargs.head_kwargs.tuples_per_scale = 2
    out = train_mode.run(c, str(tmp_path / "trn"))
    assert out["step"] == 2 and out["videos"] == 10 and out["params"] > 0 and out["gflops_per_clip"] > 0
    assert set(out["forward"]) == {"top1", "top5", "top1_order_only", "top1_appearance"}
    saved = json.loads((tmp_path / "trn" / "recognition.json").read_text())
    assert saved["reversed"] == out["reversed"]
    for name in ("confusion.png", "confusion_reversed.png", "loss_curve.png", "recognition.md"):
        assert (tmp_path / "trn" / name).stat().st_size > 0
    assert "eval/top5" in (tmp_path / "trn" / "metrics.jsonl").read_text()
