"""TSN (average consensus of per-segment scores) on the synthetic action clips: order-free, ~50% on time-reverse pairs.

    python launch.py --experiment=tsn_synthetic --workdir=runs/tsn_synthetic
    python -m jaxtrack.modes.train tsn_synthetic runs/tsn_synthetic

`recognition_config(head, head_kwargs)` is the shared recipe of tsn / trn / eco_synthetic, sized for 2 CPU cores:
32x32 clips of 16 frames (800 train / 100 val / 300 test, `jaxtrack.data.synthetic_actions`; the TFDS build under
<workdir>/../tfds takes seconds), K = 4 segments of one frame (random offsets in training, centres in test), a
3-stage ResNet-18/4 backbone (16/32/64 channels) per frame, segment features = layer3 (2x2x64) flattened -> 64,
batch 16, Adam 1e-3 with cosine decay, 1200 steps. `--mode=train` ends with the test-split evaluation in order and
reversed (`jaxtrack.modes.recognize`).
"""

from ml_collections import ConfigDict

from jaxtrack import config as config_lib


def recognition_config(name: str, head: str, head_kwargs: dict) -> ConfigDict:
    c = config_lib.experiment("train")
    c.name = name
    c.seed = 0
    c.num_epochs = 12
    c.steps_per_epoch = 100
    c.log_every = 100
    c.eval_every = 600
    c.checkpoint_every = 600
    c.keep_checkpoints = 1
    c.tensorboard = False
    c.optim.name = "adam"
    c.optim.weight_decay = 0.0
    c.optim.grad_clip = 5.0
    c.optim.lr = ConfigDict({"type": "cos", "start_lr": 1e-3, "end_lr": 5e-5})
    c.optim.warmup.epochs = 0
    c.optim.backbone.prefixes = ()
    c.model.name = "recognizer"
    c.model.kwargs = ConfigDict({"head": head, "head_kwargs": ConfigDict(head_kwargs, type_safe=False),
                                 "backbone": "resnet18_small",
                                 "backbone_kwargs": ConfigDict({"stage_sizes": (1, 1, 1), "widths": (16, 32, 64),
                                                                "stem_width": 16}),
                                 "feature_layer": "layer3", "feature_dim": 64, "eco_layer": "layer2"},
                                type_safe=False)
    c.task = ConfigDict({"normalize": "imagenet", "label_smoothing": 0.0})
    c.data.update(dataset="synthetic_actions", split="train", eval_split="val", test_split="test", batch_size=16,
                  eval_batches=0, num_threads=2)
    c.data.options = ConfigDict({"num_train": 800, "num_val": 100, "num_test": 300, "size": 32, "n_frames": 16})
    c.data.clips = ConfigDict({"num_segments": 4, "snippet_len": 1, "image_size": 0, "num_clips": 1, "test_crops": 1})
    return c


def get_config() -> ConfigDict:
    return recognition_config("tsn_synthetic", "tsn", {"mode": "avg", "dropout": 0.0})
