"""The one config schema: every experiment starts from `experiment(mode)` and sets its own values.

Sections (the same for trackers and the summarizer):
  name, mode, seed                  the experiment, its default `--mode`, the seed of everything random
  num_epochs ... progress, optim    the trainer (`jaxtrack.train.trainer`), `num_epochs * steps_per_epoch` updates
  model {name, kwargs,              a registered family (`jaxtrack.families`; "summarizer") and its build kwargs;
         init_from, from_scratch}   a converted backbone to start training from, or explicitly none (`modes.train`)
  task {}                           the family's task fields (normalisation, loss weights, target options)
  data {...}                        dataset, splits, TFDS folders, batch size and pipeline options
  track {}, track_video {...}       tracker settings over the family's published ones; what `--mode=track` tracks
  eval {...}                        the benchmark `--mode=eval` runs (`jaxtrack.modes.eval`)
  convert {...}                     the PyTorch checkpoint `--mode=convert` turns into a workdir (`jaxtrack.convert`)
  compress {...}                    the SVD compression / delta-trick table of `--mode=compress` (summarizer)
Optimizer: pysot's SiamRPN++ recipe (SGD 0.9, wd 1e-4, clip 10, 5 warm-up epochs 1e-3 -> 5e-3, log 5e-3 -> 5e-4);
`jaxtrack.train.optim` documents the fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from etils import epath
from ml_collections import ConfigDict


def optim() -> ConfigDict:
    return ConfigDict({
        "name": "sgd",  # "sgd" | "adam"
        "momentum": 0.9,
        "b1": 0.9, "b2": 0.999, "eps": 1e-8,  # adam
        "weight_decay": 1e-4,
        "grad_clip": 10.0,  # global-norm clip; <= 0 disables
        "lr": {"type": "log", "start_lr": 0.005, "end_lr": 0.0005, "step": 1, "mult": 0.1},
        "warmup": {"epochs": 5, "type": "step", "start_lr": 0.001, "end_lr": 0.005, "step": 1, "mult": 0.1},
        "backbone": {"prefixes": ("backbone",), "frozen_prefixes": (), "train_epoch": 10, "lr_mult": 0.1},
    })


def experiment(mode: str) -> ConfigDict:
    """Every section with its default; an experiment file overrides what it needs."""
    c = ConfigDict()
    c.name = ""
    c.mode = mode
    c.seed = 0
    # trainer
    c.num_epochs = 20
    c.steps_per_epoch = 1000
    c.log_every = 50
    c.eval_every = 1000  # steps; with eval data (the last step always evaluates)
    c.checkpoint_every = 1000  # steps; the last step is always saved
    c.keep_checkpoints = 3
    c.best_metric = ""  # e.g. "eval/loss": keep the best checkpoint by it too
    c.best_mode = "min"
    c.tensorboard = True
    c.progress = True
    c.optim = optim()
    c.model = ConfigDict({
        "name": "", "kwargs": ConfigDict(type_safe=False),
        # a converted backbone (`--mode=convert` with convert.kind=backbone: <dir> or <dir>/backbone) loaded before
        # step 0; an experiment that freezes backbone layers needs it unless from_scratch=True (no frozen layers then)
        "init_from": "", "from_scratch": False,
    })
    c.task = ConfigDict(type_safe=False)
    c.data = ConfigDict({
        "dataset": "synthetic_videos",
        "split": "train",
        "eval_split": "val",  # trackers: eval loss; summarizer: also reported ("": none)
        "test_split": "test",  # summarizer: the reported split
        "eval_batches": 0,  # trackers: eval-loss batches per evaluation (0: none)
        "data_dir": "",  # TFDS array_record folder; "": <workdir>/../tfds, shared by runs side by side
        "manual_dir": "",  # the raw files of a real dataset
        "options": ConfigDict(type_safe=False),  # dataset options (synthetic_videos: SyntheticConfig fields, ...)
        "batch_size": 28,  # per device (pysot's TRAIN.BATCH_SIZE is per GPU)
        "num_threads": 4,
        "num_workers": 0,
        # trackers: PairConfig fields; template_aug / search_aug: AugmentConfig fields (None: pysot's)
        "pairs": ConfigDict({"template_aug": None, "search_aug": None}, type_safe=False),
    })
    c.track = ConfigDict(type_safe=False)
    c.track_video = ConfigDict({
        "frames": "",  # a glob of one video's frames (sorted = frame order); "": synthetic test videos
        "box": "",  # x,y,w,h (0-based px) of the target in the first frame, with `frames`
        "num_videos": 2, "seed": 0, "synthetic": ConfigDict(type_safe=False),  # without `frames`
        "exported": False,  # track with the `--mode=export` artifact instead of the checkpoint
    })
    c.eval = ConfigDict({
        # a jaxtrack.eval.datasets name (synthetic, otb, uav123, lasot, got10k_*, vot, vot20xx), synthetic_vos, or a
        # VOS benchmark of jaxtrack.eval.vos_benchmark (davis2016, davis2017, youtube_vos)
        "benchmark": "synthetic",
        "data_root": "",  # the benchmark's folder (not for synthetic)
        "max_videos": 0,  # 0: all of a folder benchmark
        "num_videos": 16, "seed": 0, "synthetic": ConfigDict(type_safe=False),  # synthetic test videos
        "baselines": ("csrt", "kcf", "static"),  # jaxtrack.track.baselines names
        "models": [],  # {"workdir", "step", "track", "label"} entries of trained trackers
        "checkpoints": "",  # comma-separated training workdirs, added to models
        "vot": False,  # also the VOT re-initialisation protocol
        # VOS benchmarks: a folder <seq>/<frame>.png of palette-PNG results to score ("": track every object)
        "vos_results": "",
        "vos_split": "val",  # VOS benchmarks: DAVIS's ImageSets split (train, val); YouTube-VOS's folder (train, valid)
        "attribute_plots": True,
    })
    c.convert = ConfigDict({
        "checkpoint": "",  # a PyTorch file: a pysot / SiamBAN model.pth (kind "model") or an ImageNet backbone
        "kind": "model",  # "model": <workdir>/checkpoints/0; "backbone": <workdir>/backbone (for model.init_from)
        "skip": (),  # regexes of torch keys / flax paths left out on purpose (every other mismatch is an error)
        # pysot / SiamBAN files saw BGR frames: flip the stem conv's input channels so the model takes RGB frames.
        # False for torchvision weights (RGB; train those with task.normalize="imagenet")
        "bgr_to_rgb": True,
    })
    c.compress = ConfigDict({  # `--mode=compress` of a trained summarizer (`jaxtrack.modes.compress`)
        "fold": 0,  # TVSum / SumMe: the fold of the k-fold run (`<workdir>/split<k>`) to compress
        "rank": 0,  # the shared projections' rank per LSTM direction; or
        "variance": 0.0,  # the smallest rank keeping this fraction of the recurrent weights' sum(s^2)
        "finetune_epochs": 3,  # epochs of the one trainer on the compressed model (0: none)
        "finetune_lr": 1e-4,  # its constant learning rate, no warm-up (0: the experiment's optim.lr / warmup)
        "out": "",  # the compressed model's workdir ("": <workdir>/compressed/rank<r> or var<v>)
        "sweep": False,  # instead the table: ranks, variances and delta thresholds next to the uncompressed model
        "ranks": (48, 32, 16, 8, 4), "variances": (0.9, 0.5),
        "delta_thresholds": (0.0, 0.05, 0.1, 0.2, 0.4, 0.8),
        "repeats": 5,  # timing passes over the test videos (the best counts)
    })
    return c


def known_fields(fields: Mapping, cls: type, where: str, *, exclude=()) -> dict:
    """`fields` as a dict of keyword arguments for the dataclass `cls`; KeyError naming `where` (the config section,
    e.g. "config.data.clips"), the unknown keys and the valid ones when a key is no field of `cls` (or in `exclude`)."""
    fields = dict(fields)
    known = {f.name for f in dataclasses.fields(cls)} - set(exclude)
    unknown = sorted(set(fields) - known)
    if unknown:
        raise KeyError(f"{where}: unknown fields {unknown}; valid: {sorted(known)}")
    return fields


def data_dir(config: ConfigDict, workdir: epath.PathLike) -> str:
    """`config.data.data_dir`, or `<workdir>/../tfds` when it is empty."""
    return config.data.data_dir or str(epath.Path(workdir).absolute().parent / "tfds")
