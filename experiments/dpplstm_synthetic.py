"""dppLSTM video summarizer (BiLSTM + DPP loss) on the synthetic videos, evaluated next to random/uniform/human.

    python launch.py --experiment=dpplstm_synthetic --workdir=runs/dpplstm_synthetic
    python launch.py --experiment=dpplstm_synthetic --config.train.num_epochs=40 --workdir=runs/dpp40
"""

from ml_collections import ConfigDict

from jaxtrack.train import trainer


def get_config() -> ConfigDict:
    c = ConfigDict()
    c.name = "dpplstm_synthetic"
    c.mode = "summarize"
    c.seed = 0
    c.data = ConfigDict({"dataset": "synthetic_videos", "train_split": "train", "test_split": "test",
                         "data_dir": ""})  # data_dir default: <workdir>/tfds
    c.data.options = ConfigDict({"num_train": 64, "num_val": 4, "num_test": 16, "image_format": "jpeg",
                                 "height": 128, "width": 128, "n_frames": 96, "n_shots": 6})
    c.features = ConfigDict({"backbone": "resnet18_small", "image_size": 64, "chunk_size": 96, "seed": 0})
    c.model = ConfigDict({"hidden": 64, "mlp_hidden": 64, "kernel_dim": 32, "tied_directions": False,
                          "activation": "sigmoid"})
    c.task = ConfigDict({"loss": "dpplstm", "dpp_weight": 0.1, "jitter": 1e-3})
    c.summ = ConfigDict({"batch_size": 8, "buckets": (64, 128, 256, 512, 1024), "keyframe_threshold": 0.5,
                         "mode": "avg", "proportion": 0.15, "plot_video": 0,
                         "standardize": True})  # z-score features with the training steps' statistics
    c.train = trainer.default_config()
    c.train.num_epochs = 30
    c.train.steps_per_epoch = 0  # 0: one pass over the training videos
    c.train.checkpoint_every = 100000  # the last step is always saved
    c.train.tensorboard = False
    c.train.progress = False
    c.train.optim.name = "adam"
    c.train.optim.weight_decay = 0.0
    c.train.optim.grad_clip = 5.0
    c.train.optim.lr = ConfigDict({"type": "constant", "start_lr": 1e-3})
    c.train.optim.warmup.epochs = 0
    c.train.optim.backbone.prefixes = ()
    return c
