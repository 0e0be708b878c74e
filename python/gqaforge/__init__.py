"""gqaforge: tuned grouped-query attention kernels from Python.

    import gqaforge
    gqaforge.load_library("h200.gqalib")          # optional: else every shape is JIT-compiled
    o = gqaforge.attention(q, k, v, causal=True)  # q [batch, seq, n_q_heads, head_dim]

The extension gqaforge._C binds the C API (include/gqaforge/gqaforge.h) handle for handle and
needs no PyTorch; the PyTorch functions (attention, attention_varlen, attention_with_kvcache,
scaled_dot_product_attention, describe) and the torch.ops.gqaforge custom ops come from
gqaforge._torch, imported here when PyTorch is installed. docs/python.md has the details.
"""

import importlib.util as _importlib_util

from . import _C
from ._C import (DataLossError, Error, FailedPreconditionError, InternalError, InvalidArgumentError, Library,
                 NotFoundError, Plan, ResourceExhaustedError, UnavailableError)
from ._plans import SUPPORTED_HEAD_DIMS, clear_plan_cache, library, load_library

__version__ = "0.1.0"
__all__ = ["Error", "InvalidArgumentError", "FailedPreconditionError", "NotFoundError", "ResourceExhaustedError",
           "UnavailableError", "DataLossError", "InternalError", "Library", "Plan", "SUPPORTED_HEAD_DIMS",
           "clear_plan_cache", "library", "load_library", "version", "attention", "attention_varlen",
           "attention_with_kvcache", "scaled_dot_product_attention", "describe"]

_TORCH_API = ("attention", "attention_varlen", "attention_with_kvcache", "scaled_dot_product_attention", "describe")
_torch_import_error = None

if _importlib_util.find_spec("torch") is not None:
    # Eagerly, so that the custom ops exist and the names are plain module attributes (which
    # torch.compile traces without a graph break).
    try:
        from ._torch import (attention, attention_varlen, attention_with_kvcache, describe,
                             scaled_dot_product_attention)
    except ImportError as e:  # too old a PyTorch: the rest of the package still works
        _torch_import_error = str(e)
else:
    _torch_import_error = "PyTorch is not installed"


def __getattr__(name):
    if name in _TORCH_API:
        raise ImportError(f"gqaforge.{name} needs PyTorch: {_torch_import_error}")
    raise AttributeError(f"module 'gqaforge' has no attribute '{name}'")


def version() -> str:
    """The loaded libgqaforge's version string ("0.1.0 (commit abc1234)")."""
    return _C.version_string()
