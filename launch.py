"""jaxtrack launcher: one entry point for every experiment and mode.

    python launch.py --list_experiments
    python launch.py --experiment=quickstart --workdir=runs/quickstart
    python launch.py --experiment=siamban_acm_synthetic --workdir=runs/acm [--mode=train|eval|track|export]
    python launch.py --config=path/to/config.py --workdir=DIR [--mode=MODE] [--config.data.batch_size=64]

`--experiment=NAME` loads `experiments/NAME.py`; `--config.<key>=<value>` overrides any config entry. The resolved
config goes to `<workdir>/config.json` and library logs to `<workdir>/log.txt` (`--verbosity=1`: on stderr). A rerun
in the same workdir resumes from its latest checkpoint (`--noresume` moves the old workdir aside first). Multi-host:
`--distributed` (coordinator / process count / id from the flags, or detected on TPU pods and SLURM). `--dry_run`
resolves the config (overrides, mode, registered names) and exits without touching the workdir.
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


def define_flags(flag_values: flags.FlagValues, sys_argv: list[str] | None = None) -> None:
    """launch.py's flags in `flag_values` (`sys_argv`: the command line the config overrides come from, default
    sys.argv)."""
    fv = {"flag_values": flag_values}
    flags.DEFINE_string("experiment", None, "Experiment name (experiments/<name>.py); see --list_experiments.", **fv)
    config_flags.DEFINE_config_file("config", None, "Config file (python, get_config()); set by --experiment.",
                                    sys_argv=sys_argv, **fv)
    flags.DEFINE_string("workdir", None, "Output directory (config.json, log.txt, results, checkpoints).", **fv)
    flags.DEFINE_enum("mode", None, list(modes.MODES), "What to run (default: the config's `mode`).", **fv)
    flags.DEFINE_bool("list_experiments", False, "List the experiments with one-line descriptions and exit.", **fv)
    flags.DEFINE_bool("dry_run", False, "Resolve the config (overrides, mode, registered names) and exit without "
                      "touching the workdir or running anything.", **fv)
    flags.DEFINE_bool("resume", True, "Resume from the workdir's latest checkpoint; --noresume moves an existing "
                      "workdir to <workdir>.old-<time> and starts afresh.", **fv)
    flags.DEFINE_enum("platform", None, ["cpu", "gpu", "cuda", "rocm", "tpu"], "JAX platform (default: JAX's "
                      "choice).", **fv)
    flags.DEFINE_bool("distributed", False, "Multi-host: call jax.distributed.initialize before anything else.", **fv)
    flags.DEFINE_string("coordinator_address", None, "Multi-host coordinator host:port (None: auto-detect).", **fv)
    flags.DEFINE_integer("num_processes", None, "Multi-host process count (None: auto-detect).", **fv)
    flags.DEFINE_integer("process_id", None, "This process's id in [0, num_processes) (None: auto-detect).", **fv)
    flags.DEFINE_bool("traceback", False, "Show the full traceback of an error instead of one line.", **fv)


define_flags(FLAGS)
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


def check_names(config, where: str = "config") -> None:
    """ValueError naming the key when a registry does not know a name: `data.dataset`, `eval.benchmark` (tracking
    or VOS), `eval.baselines`; in nested experiment configs (quickstart's) too. The registries are imported here,
    once a config is resolved (`--list_experiments` stays fast)."""
    from jaxtrack.data.tfds_builders import BUILDERS
    from jaxtrack.eval import datasets, vos_benchmark
    from jaxtrack.track import baselines

    known = {"data.dataset": list(BUILDERS),
             "eval.benchmark": [*datasets.DATASETS, *vos_benchmark.BENCHMARKS, *vos_benchmark.TRACKED],
             "eval.baselines": list(baselines.BASELINES)}
    for key, names in known.items():
        section, field = key.split(".")
        if section in config and field in config[section]:
            values = config[section][field]
            for value in values if isinstance(values, (tuple, list)) else (values,):
                if value not in names:
                    raise ValueError(f"{where}.{key}={value!r} is not one of {sorted(names)}")
    for key, value in config.items():
        if hasattr(value, "items") and "mode" in value:  # a nested experiment config
            check_names(value, f"{where}.{key}")


def resolved(flag_values: flags.FlagValues) -> tuple:
    """(config, mode) of parsed launch flags; app.UsageError for a missing or unknown one, ValueError for a name no
    registry knows (`check_names`)."""
    if flag_values.config is None or flag_values.workdir is None:
        raise app.UsageError("give --experiment=NAME (or --config=FILE) and --workdir=DIR; --list_experiments")
    config = flag_values.config
    mode = flag_values.mode or config.get("mode")
    if mode not in modes.MODES:
        raise app.UsageError(f"mode {mode!r} is not one of {list(modes.MODES)}")
    check_names(config)
    return config, mode


def resolve(argv: list[str]) -> tuple:
    """(config, mode) that `python launch.py <argv[1:]>` would run, resolved as `main` resolves them, without
    touching the workdir or running anything (what `--dry_run` checks; tests resolve README commands with it).
    absl's own flags (`--verbosity`, ...) are accepted."""
    argv = expand_experiment(list(argv))
    flag_values = flags.FlagValues()
    define_flags(flag_values, sys_argv=argv)
    names = [a.lstrip("-").split("=", 1)[0] for a in flag_values(argv, known_only=True)[1:]]
    unknown = [n for n in names if n not in FLAGS and n.removeprefix("no") not in FLAGS]  # absl's own: FLAGS
    if unknown:
        raise app.UsageError(f"unknown flags or arguments: {unknown}")
    return resolved(flag_values)


def main(argv) -> None:
    PARSED.append(True)
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.list_experiments:
        for name in experiments.names():
            print(f"{name:24s} {experiments.describe(name)}")
        return
    try:
        config, mode = resolved(FLAGS)
        if FLAGS.dry_run:
            print(f"{config.get('name') or 'config'} --mode={mode} in {FLAGS.workdir}: config resolved "
                  f"(--dry_run: nothing written or run)")
            return
        path = epath.Path(FLAGS.workdir)
        prepare_workdir(path)
        setup_jax()
        workdir.write_config(path, config)
        print(f"{config.get('name') or 'config'} --mode={mode} in {path} on {jax.device_count()} "
              f"{jax.default_backend()} device(s), {jax.process_count()} process(es); config.json, log.txt there",
              flush=True)
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
        text = str(e.args[0].args[0]) if e.args and isinstance(e.args[0], KeyError) else str(e)  # "'key'\nDid ..."
        key, _, hint = text.partition("\n")
        sys.exit(f"error: unknown config key {key} in a --config.* override{f' ({hint})' if hint else ''}; the "
                 "experiment's file lists its keys")
