"""Every `python launch.py ...` command in README.md resolves as written: experiment, `--config.*` overrides (known
keys, right types), mode and registered names (`launch.resolve`, what `--dry_run` checks), without running it.
Commands come from the indented code blocks, inline code spans and the `--mode` table's examples."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from absl import app

import launch

ROOT = Path(__file__).resolve().parents[1]
SHELL_VARIABLES = {"$i": "0", "$RANK": "0"}  # per-process values the README leaves to the shell


def readme_commands(text: str) -> list[str]:
    """The launch.py argument strings of `text` (markdown), in order of appearance."""
    found = []
    blocks = re.sub(r"\\\n\s*", " ", text)  # shell line continuations
    for line in blocks.splitlines():
        if line.startswith("    ") and "python launch.py" in line:  # an indented code block line
            found.append(line.split("python launch.py", 1)[1].split("&&")[0].split("  #")[0])
    found += [span[len("python launch.py"):] for span in re.findall(r"`(python launch\.py[^`]*)`", text)]
    for mode, example in re.findall(r"^\| `(\w+)` \|[^\n]*\| `(--experiment=[^`]*)` \|$", text, re.M):
        found.append(example if "--mode=" in example else f"{example} --mode={mode}")
    return [" ".join(command.split()) for command in found if command.strip()]  # not the bare program name


COMMANDS = readme_commands((ROOT / "README.md").read_text())


def test_the_parser_finds_the_readme_commands():
    assert len(COMMANDS) >= 20
    assert any("--config.eval.checkpoints=runs/siamban_acm,runs/siamrpnpp" in c for c in COMMANDS)
    assert "--experiment=quickstart --workdir=runs/quickstart" in COMMANDS  # the one after `pip install ... &&`
    assert "--experiment=siamban_acm_synthetic --workdir=runs/acm --mode=track" in COMMANDS  # the mode table
    assert readme_commands("    python launch.py --a=1 \\\n        --b=2  # note\nx `python launch.py\n  --c` y") == [
        "--a=1 --b=2", "--c"]


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_resolves(command):
    for name, value in SHELL_VARIABLES.items():
        command = command.replace(name, value)
    args = shlex.split(command)
    if args == ["--list_experiments"]:  # lists and exits (tests/test_launch.py runs it)
        return
    config, mode = launch.resolve(["launch.py", *args])
    given = [a.split("=", 1)[1] for a in args if a.startswith("--mode=")]
    assert mode == (given[0] if given else config.mode)
    for arg in args:  # every override landed in the config
        if arg.startswith("--config."):
            key, value = arg[len("--config."):].split("=", 1)
            node = config
            for part in key.split("."):
                node = node[part]
            assert str(node) == value or str(tuple(node)) == value or node == type(node)(value) or (
                isinstance(node, tuple) and ",".join(map(str, node)) == value), (key, node, value)


@pytest.mark.parametrize("args, error", [
    (["--experiment=eval_synthetic", "--workdir=w", "--config.checkpoints=runs/a,runs/b"], AttributeError),
    (["--experiment=eval_synthetic", "--workdir=w", "--config.eval.benchmark=otb100"], ValueError),
    (["--experiment=dpplstm_synthetic", "--workdir=w", "--config.data.dataset=tvsumm"], ValueError),
    (["--experiment=eval_synthetic", "--workdir=w", "--mode=nosuch"], Exception),
    (["--experiment=eval_synthetic"], app.UsageError),
    (["--experiment=eval_synthetic", "--workdir=w", "--frobnicate"], app.UsageError),
])
def test_resolve_rejects(args, error):
    with pytest.raises(error):
        launch.resolve(["launch.py", *args])


def test_dry_run_writes_nothing(tmp_path):
    workdir = tmp_path / "never"
    out = subprocess.run([sys.executable, "launch.py", "--experiment=eval_synthetic", f"--workdir={workdir}",
                          "--config.eval.benchmark=otb", "--config.eval.data_root=/nonexistent", "--dry_run"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (f"eval_synthetic --mode=eval in {workdir}: config resolved (--dry_run: nothing "
                                  "written or run)")
    assert not workdir.exists()
