"""`--mode=data`: build a video dataset (TFDS, array_record), then show and time what the pipelines make of it.

Writes to the workdir: `data_summary.json` (dataset statistics, pairs/s) and `pairs.png` (template and
search crops of a few training pairs with the target box drawn; negatives marked).
"""

from __future__ import annotations

import json
import time

import cv2
import grain
import numpy as np
from absl import logging
from etils import epath

from jaxtrack import config as config_lib
from jaxtrack.data import pipeline_pairs, tfds_source
from jaxtrack.files import write_atomic


def dataset_stats(source) -> dict:
    videos = source.videos
    lengths = np.array([len(v) for v in videos])
    valid = np.concatenate([v.valid() for v in videos])
    attributes = {}
    for v in videos:
        for name, on in v.attributes.items():
            attributes[name] = attributes.get(name, 0) + int(on)
    return {"videos": len(videos), "frames": int(lengths.sum()), "frames_per_video": [int(lengths.min()),
            int(lengths.max())], "valid_box_fraction": float(valid.mean()), "attribute_counts": attributes}


def contact_sheet(batch: dict, n: int = 6) -> np.ndarray:
    """[n*255, 127+255, 3] uint8 BGR: template | search per row, target boxes in green (red for negatives)."""
    rows = []
    for i in range(min(n, len(batch["negative"]))):
        template = np.ascontiguousarray(batch["template"][i][..., ::-1])
        search = np.ascontiguousarray(batch["search"][i][..., ::-1])
        colour = (0, 0, 255) if batch["negative"][i] else (0, 255, 0)
        for image, box in ((template, batch["template_box"][i]), (search, batch["search_box"][i])):
            x, y, w, h = np.round(box).astype(int)
            cv2.rectangle(image, (x, y), (x + w, y + h), colour, 1)
        pad = np.zeros((search.shape[0] - template.shape[0], template.shape[1], 3), np.uint8)
        rows.append(np.concatenate([np.concatenate([template, pad]), search], axis=1))
    return np.concatenate(rows)


def run(config, workdir: str) -> dict:
    """Builds `config.dataset` / `config.split` and samples `config.batches` pair batches from it."""
    workdir = epath.Path(workdir)
    data = config.data
    start = time.perf_counter()
    print(f"data: {data.dataset} {data.split} ...", flush=True)
    source = tfds_source.load(data.dataset, data.split, data_dir=config_lib.data_dir(config, workdir),
                              manual_dir=data.manual_dir or None, **dict(data.options))
    built_s = time.perf_counter() - start
    stats = dataset_stats(source)
    logging.info("dataset ready in %.1f s: %s", built_s, stats)
    batches = iter(pipeline_pairs.pair_batches(source, batch_size=data.batch_size, seed=config.seed,
                                               shard_options=grain.sharding.ShardByJaxProcess(),
                                               num_threads=data.num_threads))
    first = next(batches)
    start = time.perf_counter()
    for _ in range(data.batches):
        next(batches)
    pairs_per_s = data.batches * data.batch_size / (time.perf_counter() - start)
    ok, png = cv2.imencode(".png", contact_sheet(first))
    if not ok:
        raise RuntimeError("could not encode pairs.png")
    write_atomic(workdir / "pairs.png", png.tobytes())
    summary = {"dataset": source.name, "build_or_load_s": round(built_s, 1), **stats,
               "pairs_per_s": round(pairs_per_s, 1), "batch_size": data.batch_size}
    write_atomic(workdir / "data_summary.json", json.dumps(summary, indent=1).encode())
    print(json.dumps(summary, indent=1))
    print(f"wrote {workdir / 'pairs.png'} and {workdir / 'data_summary.json'}")
    return summary
