"""Tiny `--mode=train` config of tests/test_multiprocess.py (for `launch.py` and `modes.train.run`): SiamFC
(AlexNet width 0.125, 127 / 175 crops) on 4 synthetic 48x40 videos, 1 pair per device per step, SGD at a constant
rate, 1-step epochs.

    python launch.py --config=tests/multiprocess_config.py --workdir=/tmp/mp/run --config.num_epochs=3
"""

from ml_collections import ConfigDict

from jaxtrack import config


def get_config() -> ConfigDict:
    c = config.experiment("train")
    c.name = "multiprocess"
    c.model.name = "siamfc"
    c.model.kwargs = {"backbone_args": {"width_mult": 0.125, "groups": 1}}
    c.task.normalize = "unit"
    c.task.targets = {"r_pos": 16.0, "r_neg": 0.0, "total_stride": 8}
    c.num_epochs, c.steps_per_epoch = 3, 1  # constant rate: --config.num_epochs=N stops after step N, same updates
    c.log_every, c.checkpoint_every = 1, 2
    c.tensorboard, c.progress = False, False
    c.optim.weight_decay = 0.0
    c.optim.lr = {"type": "constant", "start_lr": 0.01}
    c.optim.warmup.epochs = 0
    c.optim.backbone.train_epoch = 0
    c.data.options = {"num_train": 4, "num_val": 0, "num_test": 0, "image_format": "png", "height": 48, "width": 40,
                      "n_frames": 8, "n_shots": 2, "min_shot_len": 3, "n_annotators": 3, "sprite_size": 24}
    c.data.batch_size = 1  # per device
    c.data.num_threads = 0
    c.data.pairs.template_size, c.data.pairs.search_size = 127, 175
    c.data.pairs.neg_prob = 0.0
    return c
