"""Build the embedded synthetic video set (TFDS array_record) and sample augmented Siamese pairs from it.

    python launch.py --experiment=synthetic_data --workdir=runs/synthetic_data
    python launch.py --experiment=synthetic_data --config.data.options.num_train=300 --workdir=runs/data300
"""

from ml_collections import ConfigDict

from jaxtrack import config


def get_config() -> ConfigDict:
    c = config.experiment("data")
    c.name = "synthetic_data"
    c.data.dataset = "synthetic_videos"
    c.data.split = "train"
    c.data.options = ConfigDict({"num_train": 48, "num_val": 8, "num_test": 16, "image_format": "jpeg"})
    c.data.batch_size = 32
    c.data.batches = 20  # timed pair batches
    c.data.num_threads = 4
    return c
