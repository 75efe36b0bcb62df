"""Input-pipeline throughput: training pairs/s, frame features/s and summarization batches/s on synthetic videos.

    python launch.py --experiment=data_bench --workdir=runs/data_bench                          # through TFDS
    python launch.py --experiment=data_bench --workdir=runs/data_bench --config.data_bench.source=memory
"""

from ml_collections import ConfigDict

from jaxtrack import config


def get_config() -> ConfigDict:
    c = config.experiment("bench")
    c.name = "data_bench"
    c.data_bench = ConfigDict({
        "source": "tfds",  # "tfds" (array_record, built under data.data_dir on first use) or "memory"
        "split": "train", "num_videos": 32, "image_format": "jpeg",
        "batch_size": 32, "batches": 40, "warmup": 3,  # pairs: timed batches after warm-up
        "num_threads": 4, "num_workers": 0, "cv2_threads": 1,  # grain reader threads / processes, cv2 threads
        "summ_batch_size": 8, "summ_batches": 50,
    })
    return c
