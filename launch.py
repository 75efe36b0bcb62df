"""jaxtrack launcher: one entry point for every experiment and mode.

    python launch.py --list_experiments
    python launch.py --experiment=synthetic_data --workdir=runs/synthetic_data [--config.data.batch_size=64]
    python launch.py --config=path/to/config.py --workdir=DIR [--mode=MODE]

`--experiment=NAME` loads `experiments/NAME.py`; `--config.<key>=<value>` overrides any config entry.
"""

from __future__ import annotations

import importlib
import json
import sys

import jax
from absl import app, flags, logging
from etils import epath
from ml_collections import config_flags

import experiments
from jaxtrack.data import prepare

# mode -> "module:function" with signature run(config, workdir); imported only when used.
MODES = {
    "data": "jaxtrack.data.prepare:run",
    "train": "jaxtrack.train.run:run",
    "eval": "jaxtrack.eval.run:run",
    "summarize": "jaxtrack.eval.summ_run:run",
}

FLAGS = flags.FLAGS
flags.DEFINE_string("experiment", None, "Experiment name (experiments/<name>.py); see --list_experiments.")
config_flags.DEFINE_config_file("config", None, "Config file (python, get_config()); set by --experiment.")
flags.DEFINE_string("workdir", None, "Output directory (config.json, results, checkpoints).")
flags.DEFINE_enum("mode", None, list(MODES), "What to run (default: the config's `mode`).")
flags.DEFINE_bool("list_experiments", False, "List the experiments with one-line descriptions and exit.")


def expand_experiment(argv: list[str]) -> list[str]:
    """`--experiment=NAME` -> also `--config=experiments/NAME.py` (so `--config.x=y` overrides work)."""
    names = [a.split("=", 1)[1] for a in argv if a.startswith("--experiment=")]
    if not names or any(a.startswith("--config=") for a in argv):
        return argv
    try:
        return [argv[0], f"--config={experiments.path(names[-1])}", *argv[1:]]  # before any --config.x override
    except ValueError as e:
        sys.exit(f"error: {e}")


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.list_experiments:
        for name in experiments.names():
            print(f"{name:24s} {experiments.describe(name)}")
        return
    if FLAGS.config is None or FLAGS.workdir is None:
        raise app.UsageError("give --experiment=NAME (or --config=FILE) and --workdir=DIR; --list_experiments")
    config = FLAGS.config
    mode = FLAGS.mode or config.get("mode")
    if mode not in MODES:
        raise app.UsageError(f"mode {mode!r} is not one of {list(MODES)}")
    workdir = epath.Path(FLAGS.workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        prepare.write_atomic(workdir / "config.json", config.to_json_best_effort(indent=1).encode())
    except OSError as e:
        sys.exit(f"error: workdir {workdir} is not writable ({e.strerror}); choose another --workdir")
    logging.info("config:\n%s", config)
    print(f"mode={mode} devices={jax.devices()} workdir={workdir}")
    print(json.dumps(json.loads(config.to_json_best_effort()), indent=1))
    module, function = MODES[mode].split(":")
    getattr(importlib.import_module(module), function)(config, str(workdir))


if __name__ == "__main__":
    app.run(main, argv=expand_experiment(sys.argv))
