"""Registers the Pallas kernels (`kernels/`) as `impl="pallas"` of `dw_xcorr` and `xcorr`.

On the CPU backend they run in Pallas interpret mode (correct, slow); on GPU (Triton) and TPU (Mosaic)
they are compiled. `impl="auto"` only picks them where `auto_table.json` measured them fastest.
"""

from __future__ import annotations

from jaxtrack.ops.registry import register
from kernels import dw_xcorr as _dw
from kernels import xcorr as _xc

register("dw_xcorr", "pallas")(lambda x, z: _dw.dw_xcorr(x, z))
register("xcorr", "pallas")(lambda x, z: _xc.xcorr(x, z))
