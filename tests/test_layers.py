"""The import graph runs one way: `ops <- models <- {train, track} <- families <- convert <- workdir <- eval <- modes`,
with `data` and the shared utilities (boxes, anchors, files, sharding, logs, config) below everything, and `kernels/`
a leaf that imports only jax (its microbenchmarks may import jaxtrack). Every import statement counts, including
those inside functions."""

from __future__ import annotations

import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ("jaxtrack.boxes", "jaxtrack.anchors", "jaxtrack.files", "jaxtrack.sharding", "jaxtrack.logs",
          "jaxtrack.config", "jaxtrack.data")
LAYERS = [SHARED, ("jaxtrack.ops",), ("jaxtrack.models",), ("jaxtrack.train", "jaxtrack.track"),
          ("jaxtrack.families",), ("jaxtrack.convert",), ("jaxtrack.workdir",), ("jaxtrack.eval",), ("jaxtrack.modes",)]
KERNEL_BENCHES = ("kernels.bench", "kernels.roofline", "kernels.torch_peer")  # may import jaxtrack
KERNEL_ALLOWED = ("jax", "jaxlib", "numpy", "kernels")


def module_name(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: pathlib.Path, name: str) -> set[str]:
    """Absolute names of the modules `path` (module `name`) imports; relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            out |= {f"{base}.{a.name}" for a in node.names} | {base}
    return out


def layer(name: str) -> tuple[int, str] | None:
    """(rank, package) of a jaxtrack module (the shared utilities are one package), None outside the layers."""
    for rank, packages in enumerate(LAYERS):
        for p in packages:
            if name == p or name.startswith(p + "."):
                return rank, "shared" if packages is SHARED else p
    return None


def forbidden_edges(root: pathlib.Path = ROOT) -> list[tuple[str, str]]:
    """(importer, imported) pairs that break the layer order or the kernels' leaf rule."""
    bad = []
    for path in sorted([*(root / "jaxtrack").rglob("*.py"), *(root / "kernels").rglob("*.py")]):
        name = module_name(path, root)
        for target in sorted(imports(path, name)):
            if name.startswith("kernels") and not name.startswith(KERNEL_BENCHES):
                top = target.split(".")[0]
                if top in sys.stdlib_module_names or top == "__future__":
                    continue
                if top not in KERNEL_ALLOWED or target.startswith(KERNEL_BENCHES):
                    bad.append((name, target))
                continue
            src, dst = layer(name), layer(target)
            if src is None or dst is None:
                continue
            if dst[0] > src[0] or (dst[0] == src[0] and dst[1] != src[1]):
                bad.append((name, target))
    return bad


def test_imports_follow_the_layer_order():
    bad = forbidden_edges()
    assert not bad, f"{len(bad)} forbidden import edges:\n" + "\n".join(f"  {a} -> {b}" for a, b in bad)


def test_the_check_catches_an_upward_edge(tmp_path):
    for rel, text in {"jaxtrack/__init__.py": "", "jaxtrack/ops/__init__.py": "from jaxtrack.models import x\n",
                      "jaxtrack/models/__init__.py": "from jaxtrack import ops\n",
                      "jaxtrack/train/t.py": "def f():\n    from jaxtrack.track import s\n",
                      "jaxtrack/track/s.py": "from ..modes import m\n", "jaxtrack/modes/m.py": "import jaxtrack.ops\n",
                      "kernels/k.py": "import jax\nfrom jaxtrack.ops import checks\nimport scipy\n"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert sorted(forbidden_edges(tmp_path)) == [
        ("jaxtrack.ops", "jaxtrack.models"), ("jaxtrack.ops", "jaxtrack.models.x"),
        ("jaxtrack.track.s", "jaxtrack.modes"), ("jaxtrack.track.s", "jaxtrack.modes.m"),
        ("jaxtrack.train.t", "jaxtrack.track"), ("jaxtrack.train.t", "jaxtrack.track.s"),
        ("kernels.k", "jaxtrack.ops"), ("kernels.k", "jaxtrack.ops.checks"), ("kernels.k", "scipy")]


if __name__ == "__main__":  # python tests/test_layers.py [ROOT]: the forbidden edges of a tree
    edges = forbidden_edges(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
    print("\n".join(f"{a} -> {b}" for a, b in edges) + f"\n{len(edges)} forbidden edges")


def test_readme_layout_names_every_module():
    """The README's Layout block has one line per module (package __init__ files that only hold a docstring
    excepted) and names no module that does not exist."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    named = {line.split()[0] for line in block.splitlines() if line.split() and line.split()[0].endswith(".py")}
    modules = {str(p.relative_to(ROOT)) for d in ("jaxtrack", "kernels") for p in (ROOT / d).rglob("*.py")
               if p.name != "__init__.py" or len(p.read_text().splitlines()) > 3}
    assert not modules - named, f"modules missing from the README's Layout: {sorted(modules - named)}"
    assert not {n for n in named - modules if not n.startswith(("launch", "experiments"))}, named - modules
