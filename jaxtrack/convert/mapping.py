"""The key-mapping engine: a table of rules turns a torch state_dict into Flax variables, or says exactly why not.

A rule is `(torch pattern, flax template, kind)`. Patterns are dotted torch keys with placeholders: `{name}` matches
an integer, `{name:a|b}` one of the alternatives; the flax template is a "/"-joined path that reuses the
placeholders (`"layer{s}.{b}.conv{c}.weight" -> "layer{s}_{b}/conv{c}/kernel"`). The kind is the layout:

  conv         torch [O, I/groups, kh, kw] -> flax HWIO [kh, kw, I/groups, O] (depthwise [C, 1, kh, kw] the same way)
  conv_center  conv, and a [O, I, 1, 1] source fills the centre of a k x k target (zeros elsewhere): torchvision's
               1x1 shortcuts initialising pysot's 3x3 ones
  linear       [O, I] -> [I, O]
  deconv       torch ConvTranspose2d [I, O, kh, kw] -> [I, kh, kw, O] (SiamMask's refine `deconv` on a 1 x 1 input)
  vector       as is: biases, layer-fusion weights, scales
  bn           the pattern is a BatchNorm module: `.weight` / `.bias` -> params `scale` / `bias`, `.running_mean` /
               `.running_var` -> batch_stats `mean` / `var`, `.num_batches_tracked` dropped
Every other kind of leaf goes to "params". Errors (`ConversionError`) list every torch key no rule maps, every
mapped key whose Flax leaf the model lacks, every shape mismatch (expected vs found, in torch layout), two keys
for one leaf, and every Flax leaf left without a key (naming the torch key that would fill it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

CONV, CONV_CENTER, LINEAR, DECONV, VECTOR, BN = "conv", "conv_center", "linear", "deconv", "vector", "bn"
KINDS = (CONV, CONV_CENTER, LINEAR, DECONV, VECTOR, BN)
# torch BatchNorm leaf -> (flax collection, flax leaf); None: dropped
BN_LEAVES = {"weight": ("params", "scale"), "bias": ("params", "bias"), "running_mean": ("batch_stats", "mean"),
             "running_var": ("batch_stats", "var"), "num_batches_tracked": None}
MAX_LISTED = 30  # errors listed in one message


class ConversionError(ValueError):
    """A state_dict does not fit the model: the message lists each offending key."""


Path = tuple[str, ...]  # ("params", "backbone", "conv1", "kernel")


@dataclasses.dataclass(frozen=True)
class Rule:
    torch: str
    flax: str
    kind: str

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"rule {self.torch!r}: kind {self.kind!r} is not one of {KINDS}")


def rules(*entries: tuple[str, str, str]) -> tuple[Rule, ...]:
    return tuple(Rule(*e) for e in entries)


def nest(torch_prefix: str, flax_prefix: str, table: Iterable[Rule]) -> tuple[Rule, ...]:
    """`table` under a torch key prefix ("backbone.") and a flax path prefix ("backbone/")."""
    return tuple(Rule(torch_prefix + r.torch, flax_prefix + r.flax, r.kind) for r in table)


_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]*))?\}")


def _regex(pattern: str) -> str:
    out, pos, seen = [], 0, set()
    for m in _PLACEHOLDER.finditer(pattern):
        out.append(re.escape(pattern[pos:m.start()]))
        name, alts = m.group(1), m.group(2)
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>{alts or '[0-9]+'})")
        seen.add(name)
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return "".join(out)


def _fill(template: str, groups: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: groups[m.group(1)], template)


@dataclasses.dataclass(frozen=True)
class _Compiled:
    rule: Rule
    torch_re: re.Pattern
    flax_re: re.Pattern


def _compile(table: Sequence[Rule]) -> list[_Compiled]:
    out = []
    for r in table:
        t, f = _regex(r.torch), _regex(r.flax)
        if r.kind == BN:
            t += r"\.(?P<_leaf>" + "|".join(BN_LEAVES) + ")"
            f += "/(?P<_leaf>scale|bias|mean|var)"
        out.append(_Compiled(r, re.compile(t + r"\Z"), re.compile(f + r"\Z")))
    return out


def map_key(compiled: Sequence[_Compiled], key: str):
    """(flax path, kind) of torch `key`; "drop" for BN counters; None when no rule matches."""
    for c in compiled:
        m = c.torch_re.match(key)
        if not m:
            continue
        groups = m.groupdict()
        base = _fill(c.rule.flax, groups).split("/")
        if c.rule.kind == BN:
            leaf = BN_LEAVES[groups["_leaf"]]
            return "drop" if leaf is None else ((leaf[0], *base, leaf[1]), BN)
        return ("params", *base), c.rule.kind
    return None


def torch_key_for(compiled: Sequence[_Compiled], path: Path) -> str | None:
    """The torch key a rule would map onto flax `path` (for "missing" errors)."""
    inner = "/".join(path[1:])
    for c in compiled:
        m = c.flax_re.match(inner)
        if m:
            groups = m.groupdict()
            key = _fill(c.rule.torch, groups)
            if c.rule.kind == BN:
                key += "." + {"scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}[
                    groups["_leaf"]]
            return key
    return None


def to_flax(kind: str, value: np.ndarray, target: tuple[int, ...]) -> np.ndarray | None:
    """`value` in the flax layout of `kind` (None when its shape cannot fill `target`)."""
    if kind in (CONV, CONV_CENTER):
        if value.ndim != 4:
            return None
        value = np.transpose(value, (2, 3, 1, 0))
        if kind == CONV_CENTER and value.shape[:2] == (1, 1) and len(target) == 4 and target[:2] != (1, 1):
            out = np.zeros(target[:2] + value.shape[2:], value.dtype)
            out[target[0] // 2, target[1] // 2] = value[0, 0]
            value = out
    elif kind == LINEAR:
        value = value.T if value.ndim == 2 else None
    elif kind == DECONV:
        value = np.transpose(value, (0, 2, 3, 1)) if value.ndim == 4 else None
    return value if value is not None and value.shape == tuple(target) else None


def torch_shape(kind: str, flax_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The torch shape a flax leaf of `kind` expects."""
    if kind in (CONV, CONV_CENTER) and len(flax_shape) == 4:
        return tuple(flax_shape[i] for i in (3, 2, 0, 1))
    if kind == LINEAR and len(flax_shape) == 2:
        return flax_shape[::-1]
    if kind == DECONV and len(flax_shape) == 4:
        return tuple(flax_shape[i] for i in (0, 3, 1, 2))
    return tuple(flax_shape)


def _skipped(name: str, skip: Sequence[str]) -> bool:
    return any(re.search(s, name) for s in skip)


def apply_table(state: Mapping[str, np.ndarray], table: Sequence[Rule], expected: Mapping[Path, tuple],
                skip: Sequence[str] = ()) -> tuple[dict[Path, np.ndarray], list[Path]]:
    """Maps `state` (torch key -> array) onto `expected` (flax path -> (shape, dtype)).

    Returns (flax path -> array in `expected`'s dtype, the flax paths left unfilled because `skip` names them).
    `skip`: regexes (re.search) of torch keys to drop and of flax paths ("params/head/cls_weight") allowed to stay
    unfilled. Raises ConversionError listing every problem (module docstring).
    """
    compiled = _compile(table)
    out: dict[Path, np.ndarray] = {}
    source: dict[Path, str] = {}
    errors = []
    for key in sorted(state):
        if _skipped(key, skip):
            continue
        hit = map_key(compiled, key)
        if hit == "drop":
            continue
        if hit is None:
            errors.append(f"unmatched torch key {key} {tuple(np.shape(state[key]))}: no rule of the table maps it")
            continue
        path, kind = hit
        if path not in expected:
            errors.append(f"torch key {key} maps to {'/'.join(path)}, which the model does not have")
            continue
        shape, dtype = expected[path]
        value = to_flax(kind, np.asarray(state[key]), tuple(shape))
        if value is None:
            errors.append(f"shape mismatch at {key}: expected {torch_shape(kind, tuple(shape))}, found "
                          f"{tuple(np.shape(state[key]))} (flax {'/'.join(path)} {tuple(shape)}, {kind})")
            continue
        if path in out:
            errors.append(f"torch keys {source[path]} and {key} both map to {'/'.join(path)}")
            continue
        out[path], source[path] = value.astype(dtype), key
    skipped = []
    for path in sorted(set(expected) - set(out)):
        name = "/".join(path)
        if _skipped(name, skip):
            skipped.append(path)
            continue
        key = torch_key_for(compiled, path)
        shape = expected[path][0]
        errors.append(f"missing torch key {key or '(no rule)'} for {name} {tuple(shape)}")
    if errors:
        more = f"\n  ... and {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else ""
        raise ConversionError(f"{len(errors)} problem(s) converting the state_dict:\n  "
                              + "\n  ".join(errors[:MAX_LISTED]) + more)
    return out, skipped
