"""The process library, plan specs built from shapes and strides, and the plan cache.

Nothing here needs PyTorch: a tensor enters as its shape, its strides (in elements) and a dtype
name, so the checks and the choice of the C API problem are the same for real tensors, fake
ones under torch.compile and plain tuples in tests.
"""

import math
import os
import threading
from typing import NamedTuple, Optional, Sequence, Tuple

from . import _C

SUPPORTED_HEAD_DIMS = (64, 96, 128, 256)
# Decode kernels take 1..16 query tokens per sequence (codegen's kMaxDecodeQLen).
MAX_DECODE_Q_LEN = 16
DTYPES = ("bf16", "fp16")

Strides = Tuple[int, int, int]


class PlanSpec(NamedTuple):
    """The arguments of gqaforge._C.Plan but the library: one C API problem, hashable."""

    phase: str
    dtype: str
    n_q_heads: int
    n_kv_heads: int
    head_dim: int
    causal: bool
    max_batch: int
    max_q_len: int
    max_kv_len: int
    kv_capacity: int
    q_strides: Strides
    k_strides: Strides
    v_strides: Strides
    o_strides: Strides
    softmax_scale: float
    problem_flags: int
    plan_flags: int


class RunShape(NamedTuple):
    """What one run passes besides pointers: batch, q_len, kv_len."""

    batch: int
    q_len: int
    kv_len: int


_lock = threading.Lock()
_library: Optional[_C.Library] = None
# CPU tensors' kernels: the C API's CPU target (the LLVM backend), heuristic configs, opened once.
_cpu_library: Optional[_C.Library] = None
# PlanSpec and device -> _C.Plan. The torch layer keeps its per-call entries in `calls`
# (call key -> what a run needs); both are emptied when another library is loaded.
_plans = {}
calls = {}


def load_library(path, allow_jit: bool = True, arch: Optional[str] = None, cache_dir: Optional[str] = None):
    """Opens a tuned kernel library (.gqalib; None: JIT only) as the process's library.

    Every later call on CUDA tensors plans against it (CPU tensors keep the CPU library); plans
    made from the previous library are dropped. With
    allow_jit=False a shape that no tuned bucket serves raises FailedPreconditionError instead of
    compiling the heuristic default through NVRTC. Returns the gqaforge._C.Library.
    """
    global _library
    lib = _C.Library(None if path is None else os.fspath(path), bool(allow_jit), arch,
                     None if cache_dir is None else os.fspath(cache_dir))
    with _lock:
        _library = lib
        _plans.clear()
        calls.clear()
    return lib


def _open_once(name: str, *args) -> _C.Library:
    """The module global `name`, opened as _C.Library(*args) on first use (once, under the lock)."""
    lib = globals()[name]
    if lib is None:
        with _lock:
            if globals()[name] is None:
                globals()[name] = _C.Library(*args)
            lib = globals()[name]
    return lib


def library() -> _C.Library:
    """The process's library: the one load_library opened, else a JIT-only one (opened once)."""
    return _open_once("_library", None, True)


def cpu_library() -> _C.Library:
    """The library of CPU tensors' plans: JIT only, arch "cpu" (kernels generated for this host)."""
    return _open_once("_cpu_library", None, True, "cpu")


def clear_plan_cache() -> None:
    """Drops every cached plan (they are made again on the next call)."""
    with _lock:
        _plans.clear()
        calls.clear()


def plan_for(spec: PlanSpec, device=None) -> "_C.Plan":
    """The plan of `spec` for `device`: "cpu" plans on the CPU library, anything else (hashable;
    the caller makes the CUDA device current) on the process's library."""
    key = (spec, device)
    plan = _plans.get(key)
    if plan is None:
        plan = _C.Plan(cpu_library() if device == "cpu" else library(), *spec)
        plan = _plans.setdefault(key, plan)
    return plan


def next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def kv_bound(max_seqlen_k: int, capacity: int) -> int:
    """The key count a KV-cache plan and its runs use: max_seqlen_k rounded up to a power of two,
    capped at the capacity (0: the capacity). Calls whose bounds round alike share one entry."""
    max_seqlen_k = int(max_seqlen_k)
    if max_seqlen_k < 0 or max_seqlen_k > capacity:
        raise ValueError(f"max_seqlen_k {max_seqlen_k} is outside 1..{capacity} (the cache's capacity)")
    return capacity if max_seqlen_k == 0 else min(capacity, next_pow2(max_seqlen_k))


def check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise TypeError(f"dtype {dtype} is not supported: gqaforge takes bf16 or fp16 tensors")


def check_scale(softmax_scale: float) -> float:
    """0 stands for 1/sqrt(head_dim) (the C API's default)."""
    s = float(softmax_scale)
    if not (math.isfinite(s) and s >= 0):
        raise ValueError(f"softmax_scale {softmax_scale} must be a positive finite number (or None)")
    return s


def _check_heads(n_q_heads: int, n_kv_heads: int, head_dim: int, what: str) -> None:
    if head_dim not in SUPPORTED_HEAD_DIMS:
        raise ValueError(f"{what} head dim {head_dim} is not supported (supported: 64, 96, 128, 256)")
    if n_q_heads < 1 or n_kv_heads < 1 or n_q_heads % n_kv_heads != 0:
        raise ValueError(f"{what} has {n_q_heads} query heads and {n_kv_heads} key/value heads: the query heads "
                         f"must be a multiple of the key/value heads")


def _rank(name: str, shape: Sequence[int], rank: int, layout: str) -> None:
    if len(shape) != rank:
        raise ValueError(f"{name} must be {rank}-D {layout}, got shape {tuple(shape)}")


def _strides(name: str, shape: Sequence[int], stride: Sequence[int]) -> Strides:
    """(batch, token, head) strides of a [batch, tokens, heads, head_dim] tensor ([tokens, heads,
    head_dim] for varlen: batch 0). A dim of size 1 gets the contiguous stride: its stride is
    never used, and the C API wants a positive multiple of 8 for every dim."""
    if stride[-1] != 1:
        raise ValueError(f"{name} must have a contiguous head dim (stride 1), got strides {tuple(stride)} for "
                         f"shape {tuple(shape)}")
    if len(shape) == 4:
        _, s, h, d = shape
        dense = (s * h * d, h * d, d)
        given = tuple(stride[:3])
        sizes = tuple(shape[:3])
    else:
        _, h, d = shape
        dense = (0, h * d, d)
        given = (0,) + tuple(stride[:2])
        sizes = (1,) + tuple(shape[:2])
    return tuple(dense[i] if sizes[i] == 1 else int(given[i]) for i in range(3))


def _batched_qkv(q_shape, k_shape, v_shape, k_name: str, v_name: str, kv_layout: str):
    """The dims of 4-D q [batch, seq, heads, head_dim] and k, v (named k_name, v_name, laid out
    as kv_layout), checked against each other: (batch, seq_q, n_q_heads, head_dim, seq_k,
    n_kv_heads)."""
    _rank("q", q_shape, 4, "[batch, seq, heads, head_dim]")
    _rank(k_name, k_shape, 4, kv_layout)
    _rank(v_name, v_shape, 4, kv_layout)
    if tuple(v_shape) != tuple(k_shape):
        raise ValueError(f"{v_name} has shape {tuple(v_shape)}, {k_name} has {tuple(k_shape)}: they must match")
    b, sq, hq, d = (int(x) for x in q_shape)
    bk, sk, hkv, dk = (int(x) for x in k_shape)
    if bk != b:
        raise ValueError(f"{k_name} has batch {bk}, q has {b}: they must match")
    if dk != d:
        raise ValueError(f"{k_name} has head dim {dk}, q has {d}: they must match")
    _check_heads(hq, hkv, d, "q")
    return b, sq, hq, d, sk, hkv


def dense_spec(q_shape, q_stride, k_shape, k_stride, v_shape, v_stride, dtype: str, causal: bool,
               softmax_scale: float, return_lse: bool) -> Tuple[PlanSpec, RunShape]:
    """attention(): q [batch, seq_q, n_q_heads, head_dim], k and v [batch, seq_k, n_kv_heads,
    head_dim]. 1-16 queries against at least as many keys are planned as decode (the split-KV
    kernels), anything else as prefill."""
    check_dtype(dtype)
    b, sq, hq, d, sk, hkv = _batched_qkv(q_shape, k_shape, v_shape, "k", "v", "[batch, seq, heads, head_dim]")
    if b < 1 or sq < 1:
        raise ValueError(f"q has shape {tuple(q_shape)}: batch and seq must be at least 1")
    if sk < 1:
        raise ValueError(f"k has shape {tuple(k_shape)}: there must be at least 1 key per sequence")
    decode = sq <= MAX_DECODE_Q_LEN and sq <= sk
    spec = PlanSpec("decode" if decode else "prefill", dtype, hq, hkv, d, bool(causal), b, sq, sk, 0,
                    _strides("q", q_shape, q_stride), _strides("k", k_shape, k_stride),
                    _strides("v", v_shape, v_stride), (sq * hq * d, hq * d, d), check_scale(softmax_scale),
                    _C.PROBLEM_LSE if return_lse else 0, 0)
    return spec, RunShape(b, sq, sk)


def kvcache_spec(q_shape, q_stride, k_shape, k_stride, v_shape, v_stride, seqlens_shape, dtype: str, causal: bool,
                 softmax_scale: float, max_seqlen_k: int, return_lse: bool) -> Tuple[PlanSpec, RunShape]:
    """attention_with_kvcache(): q [batch, seq_q, n_q_heads, head_dim] against caches [batch,
    capacity, n_kv_heads, head_dim] (any strides) holding cache_seqlens[b] keys each.

    The plan's key count is max_seqlen_k rounded up to a power of two (capped at the capacity;
    0: the capacity), so that a growing cache needs a new plan only when its bound doubles; the
    run passes that bound as kv_len, never a value read back from the device.
    """
    check_dtype(dtype)
    b, sq, hq, d, cap, hkv = _batched_qkv(q_shape, k_shape, v_shape, "k_cache", "v_cache",
                                          "[batch, capacity, heads, head_dim]")
    if tuple(seqlens_shape) != (b,):
        raise ValueError(f"cache_seqlens has shape {tuple(seqlens_shape)}, expected ({b},) (one length per sequence)")
    if b < 1 or sq < 1:
        raise ValueError(f"q has shape {tuple(q_shape)}: batch and seq must be at least 1")
    if cap < 1:
        raise ValueError(f"k_cache has shape {tuple(k_shape)}: its capacity must be at least 1")
    kv_len = kv_bound(max_seqlen_k, cap)
    flags = _C.PROBLEM_KV_LENS | (_C.PROBLEM_LSE if return_lse else 0)
    spec = PlanSpec("decode" if sq <= MAX_DECODE_Q_LEN else "prefill", dtype, hq, hkv, d, bool(causal), b, sq,
                    kv_len, cap, _strides("q", q_shape, q_stride), _strides("k_cache", k_shape, k_stride),
                    _strides("v_cache", v_shape, v_stride), (sq * hq * d, hq * d, d), check_scale(softmax_scale),
                    flags, 0)
    return spec, RunShape(b, sq, kv_len)


def varlen_spec(q_shape, q_stride, k_shape, k_stride, v_shape, v_stride, cu_q_shape, cu_k_shape, max_seqlen_q: int,
                max_seqlen_k: int, dtype: str, causal: bool, softmax_scale: float,
                return_lse: bool) -> Tuple[PlanSpec, RunShape]:
    """attention_varlen(): packed q [total_q, n_q_heads, head_dim], k and v [total_k, n_kv_heads,
    head_dim], sequences given by cu_seqlens_q/k ([batch + 1] prefix sums). The plan's lengths
    are the bounds rounded up to powers of two; runs pass the bounds as given."""
    check_dtype(dtype)
    layout = "[total_tokens, heads, head_dim]"
    _rank("q", q_shape, 3, layout)
    _rank("k", k_shape, 3, layout)
    _rank("v", v_shape, 3, layout)
    if tuple(v_shape) != tuple(k_shape):
        raise ValueError(f"v has shape {tuple(v_shape)}, k has {tuple(k_shape)}: they must match")
    _, hq, d = (int(x) for x in q_shape)
    _, hkv, dk = (int(x) for x in k_shape)
    if dk != d:
        raise ValueError(f"k has head dim {dk}, q has {d}: they must match")
    _check_heads(hq, hkv, d, "q")
    if len(cu_q_shape) != 1 or int(cu_q_shape[0]) < 2:
        raise ValueError(f"cu_seqlens_q has shape {tuple(cu_q_shape)}, expected (batch + 1,) with batch >= 1")
    if tuple(cu_k_shape) != tuple(cu_q_shape):
        raise ValueError(f"cu_seqlens_k has shape {tuple(cu_k_shape)}, cu_seqlens_q {tuple(cu_q_shape)}: they "
                         f"must match")
    b = int(cu_q_shape[0]) - 1
    max_seqlen_q, max_seqlen_k = int(max_seqlen_q), int(max_seqlen_k)
    if max_seqlen_q < 1 or max_seqlen_k < 1:
        raise ValueError(f"max_seqlen_q {max_seqlen_q} and max_seqlen_k {max_seqlen_k} must be at least 1")
    flags = _C.PROBLEM_VARLEN | (_C.PROBLEM_LSE if return_lse else 0)
    spec = PlanSpec("prefill", dtype, hq, hkv, d, bool(causal), b, next_pow2(max_seqlen_q), next_pow2(max_seqlen_k),
                    0, _strides("q", q_shape, q_stride), _strides("k", k_shape, k_stride),
                    _strides("v", v_shape, v_stride), (0, hq * d, d), check_scale(softmax_scale), flags, 0)
    return spec, RunShape(b, max_seqlen_q, max_seqlen_k)
