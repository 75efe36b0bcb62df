"""jaxtrack launcher: one entry point for every experiment and mode.

    python launch.py --list_experiments
    python launch.py --experiment=quickstart --workdir=runs/quickstart
    python launch.py --experiment=siamban_acm_synthetic --workdir=runs/acm [--mode=train|eval|track|export]
    python launch.py --config=path/to/config.py --workdir=DIR [--mode=MODE] [--config.data.batch_size=64]

`--experiment=NAME` loads `experiments/NAME.py`; `--config.<key>=<value>` overrides any config entry. The resolved
config goes to `<workdir>/config.json` and library logs to `<workdir>/log.txt` (`--verbosity=1`: on stderr). A rerun
in the same workdir resumes from its latest checkpoint (`--noresume` moves the old workdir aside first). Multi-host:
`--distributed` (coordinator / process count / id from the flags, or detected on TPU pods and SLURM).
"""

from __future__ import annotations

import sys
import time

import jax
from absl import app, flags
from etils import epath
from ml_collections import config_flags

import experiments
from jaxtrack import logs, modes, sharding, workdir

# What a user can fix (bad paths, names, values): reported as one line unless --traceback.
USER_ERRORS = (FileNotFoundError, NotADirectoryError, PermissionError, KeyError, ValueError, AssertionError)

FLAGS = flags.FLAGS
flags.DEFINE_string("experiment", None, "Experiment name (experiments/<name>.py); see --list_experiments.")
config_flags.DEFINE_config_file("config", None, "Config file (python, get_config()); set by --experiment.")
flags.DEFINE_string("workdir", None, "Output directory (config.json, log.txt, results, checkpoints).")
flags.DEFINE_enum("mode", None, list(modes.MODES), "What to run (default: the config's `mode`).")
flags.DEFINE_bool("list_experiments", False, "List the experiments with one-line descriptions and exit.")
flags.DEFINE_bool("resume", True, "Resume from the workdir's latest checkpoint; --noresume moves an existing "
                  "workdir to <workdir>.old-<time> and starts afresh.")
flags.DEFINE_enum("platform", None, ["cpu", "gpu", "cuda", "rocm", "tpu"], "JAX platform (default: JAX's choice).")
flags.DEFINE_bool("distributed", False, "Multi-host: call jax.distributed.initialize before anything else.")
flags.DEFINE_string("coordinator_address", None, "Multi-host coordinator host:port (None: auto-detect).")
flags.DEFINE_integer("num_processes", None, "Multi-host process count (None: auto-detect).")
flags.DEFINE_integer("process_id", None, "This process's id in [0, num_processes) (None: auto-detect).")
flags.DEFINE_bool("traceback", False, "Show the full traceback of an error instead of one line.")
PARSED = []  # set once flags parsed: an exception before that is a bad command line


def expand_experiment(argv: list[str]) -> list[str]:
    """`--experiment=NAME` -> also `--config=experiments/NAME.py` (so `--config.x=y` overrides work)."""
    names = [a.split("=", 1)[1] for a in argv if a.startswith("--experiment=")]
    if not names or any(a.startswith("--config=") for a in argv):
        return argv
    try:
        return [argv[0], f"--config={experiments.path(names[-1])}", *argv[1:]]  # before any --config.x override
    except ValueError as e:
        sys.exit(f"error: {e}")


def setup_jax() -> None:
    """--platform and --distributed, before any other JAX call."""
    if FLAGS.platform:
        jax.config.update("jax_platforms", FLAGS.platform)
    if FLAGS.distributed:
        sharding.initialize_distributed(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)


def prepare_workdir(path: epath.Path) -> None:
    """--noresume: moves a non-empty workdir aside (the first process); then the log file, before any JAX call
    (JAX's backend messages go there too)."""
    try:
        if not FLAGS.resume and FLAGS.process_id in (None, 0) and path.exists() and any(path.iterdir()):
            old = path.parent / f"{path.name}.old-{time.strftime('%Y%m%d-%H%M%S')}"
            path.rename(old)
            print(f"--noresume: moved the previous {path} to {old}")
        path.mkdir(parents=True, exist_ok=True)
        if FLAGS.verbosity < 1:
            logs.to_file(path)
    except OSError as e:
        sys.exit(f"error: workdir {path} is not writable ({e.strerror}); choose another --workdir")


def main(argv) -> None:
    PARSED.append(True)
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
    if mode not in modes.MODES:
        raise app.UsageError(f"mode {mode!r} is not one of {list(modes.MODES)}")
    path = epath.Path(FLAGS.workdir)
    prepare_workdir(path)
    setup_jax()
    workdir.write_config(path, config)
    print(f"{config.get('name') or 'config'} --mode={mode} in {path} on {jax.device_count()} {jax.default_backend()} "
          f"device(s), {jax.process_count()} process(es); config.json, log.txt there", flush=True)
    try:
        modes.get(mode)(config, str(path))
    except USER_ERRORS as e:
        if FLAGS.traceback:
            raise
        message = " ".join(str(e).split())
        sys.exit(f"error: {type(e).__name__}: {message} (--traceback shows where)")


if __name__ == "__main__":
    try:
        app.run(main, argv=expand_experiment(sys.argv))
    except AttributeError as e:  # ml_collections: a --config.<key> override of a key the config does not have
        if PARSED:
            raise
        sys.exit(f"error: unknown config key {e} in a --config.* override; the experiment's file lists its keys")
