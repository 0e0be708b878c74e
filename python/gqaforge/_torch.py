"""PyTorch integration: torch.library custom ops over the C API, and the public functions.

Each op has a fake implementation (shapes only), so torch.compile(fullgraph=True) traces it
without a graph break. The real one looks its call up in the plan cache (one dict lookup on
the shapes, strides, dtype, device and options), allocates O, LSE and the workspace with
torch.empty (PyTorch's caching allocator, CUDA-graph aware) and enqueues the plan on the
current stream: it never synchronizes and reads no tensor value on the host, so it can be
captured in a CUDA graph once its plan exists (make one call before capturing).
"""

import math
from typing import NamedTuple, Optional, Tuple

import torch

from . import _C, _plans

if not hasattr(torch.library, "custom_op"):
    raise ImportError(f"gqaforge's PyTorch ops need torch.library.custom_op (PyTorch 2.4 or newer); this is "
                      f"PyTorch {torch.__version__}")

Tensor = torch.Tensor
_DTYPES = {torch.bfloat16: "bf16", torch.float16: "fp16"}


def _dtype_name(tensors) -> str:
    name0, t0 = tensors[0]
    for name, t in tensors:
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name} has dtype {t.dtype}: gqaforge takes torch.bfloat16 or torch.float16")
        if t.dtype != t0.dtype:
            raise TypeError(f"{name} has dtype {t.dtype}, {name0} has {t0.dtype}: they must match")
    return _DTYPES[t0.dtype]


def _check_devices(tensors, fake: bool) -> None:
    # CUDA tensors run on the GPU, CPU tensors on the CPU backend; the fake implementations also
    # serve the meta device (shape propagation without a GPU).
    allowed = ("cuda", "cpu", "meta") if fake else ("cuda", "cpu")
    name0, t0 = tensors[0]
    for name, t in tensors:
        if t.device.type not in allowed:
            raise ValueError(f"{name} is on {t.device}: gqaforge runs on CUDA devices and on the CPU")
        if t.device != t0.device:
            raise ValueError(f"{name} is on {t.device}, {name0} on {t0.device}: they must be on one device")


def _check_index(name: str, t) -> None:
    if t.dtype != torch.int32:
        raise TypeError(f"{name} has dtype {t.dtype}: it must be torch.int32")
    if t.dim() != 1 or t.stride(0) != 1:
        raise ValueError(f"{name} must be a contiguous 1-D tensor, got shape {tuple(t.shape)} and strides "
                         f"{tuple(t.stride())}")


class _Entry(NamedTuple):
    plan: "_C.Plan"
    run: "_plans.RunShape"
    workspace_bytes: int
    o_shape: Tuple[int, ...]
    lse_shape: Tuple[int, ...]


def _plan(spec, device: torch.device):
    if device.type == "cpu":
        return _plans.plan_for(spec, "cpu")
    if device.type != "cuda":  # describe() of meta tensors: a CUDA plan without a device
        return _plans.plan_for(spec, None)
    with torch.cuda.device(device):
        return _plans.plan_for(spec, device.index)


def _entry(spec, run, device, o_shape, lse_shape) -> _Entry:
    plan = _plan(spec, device)
    return _Entry(plan, run, plan.workspace_size, tuple(o_shape), tuple(lse_shape))


def _launch(e: _Entry, q: Tensor, k: Tensor, v: Tensor, return_lse: bool, kv_lens: int, cu_q: int,
            cu_k: int) -> Tuple[Tensor, Tensor]:
    device = q.device
    o = torch.empty(e.o_shape, dtype=q.dtype, device=device)
    lse = torch.empty(e.lse_shape if return_lse else (0,), dtype=torch.float32, device=device)
    ws = torch.empty(e.workspace_bytes, dtype=torch.uint8, device=device) if e.workspace_bytes else None
    ws_ptr = ws.data_ptr() if ws is not None else 0
    args = (e.run.batch, e.run.q_len, e.run.kv_len, q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr(),
            lse.data_ptr() if return_lse else 0, kv_lens, cu_q, cu_k, ws_ptr, e.workspace_bytes)
    if device.type == "cpu":
        # The CPU target runs on the calling thread (its own worker pool) and takes no stream.
        e.plan.run(*args, 0)
        return o, lse
    if device.index != torch.cuda.current_device():
        with torch.cuda.device(device):
            e.plan.run(*args, torch.cuda.current_stream(device).cuda_stream)
    else:
        e.plan.run(*args, torch.cuda.current_stream(device).cuda_stream)
    # The workspace goes back to the caching allocator here; a later allocation on this stream
    # is ordered after the run, one on another stream is not handed this block (stream-ordered).
    return o, lse


# ---- dense: flash_attn_func ------------------------------------------------------------------


# The checks and the plan spec of each op. check: "run" (the real op: CUDA or CPU tensors), "fake"
# (those or meta tensors), None (describe(): any device, nothing is run).
def _dense(q, k, v, causal, softmax_scale, return_lse, check="run"):
    named = (("q", q), ("k", k), ("v", v))
    dtype = _dtype_name(named)
    if check:
        _check_devices(named, check == "fake")
    spec, run = _plans.dense_spec(q.shape, q.stride(), k.shape, k.stride(), v.shape, v.stride(), dtype, causal,
                                  softmax_scale, return_lse)
    b, sq, hq, d = q.shape
    return spec, run, (b, sq, hq, d), (b, sq, hq)


@torch.library.custom_op("gqaforge::attention", mutates_args=())
def _attention_op(q: Tensor, k: Tensor, v: Tensor, causal: bool, softmax_scale: float,
                  return_lse: bool) -> Tuple[Tensor, Tensor]:
    key = ("dense", q.shape, q.stride(), k.shape, k.stride(), v.shape, v.stride(), q.dtype, k.dtype, v.dtype,
           q.device, k.device, v.device, causal, softmax_scale, return_lse)
    e = _plans.calls.get(key)
    if e is None:
        spec, run, o_shape, lse_shape = _dense(q, k, v, causal, softmax_scale, return_lse)
        e = _plans.calls.setdefault(key, _entry(spec, run, q.device, o_shape, lse_shape))
    return _launch(e, q, k, v, return_lse, 0, 0, 0)


@_attention_op.register_fake
def _(q, k, v, causal, softmax_scale, return_lse):
    _, _, o_shape, lse_shape = _dense(q, k, v, causal, softmax_scale, return_lse, check="fake")
    return q.new_empty(o_shape), q.new_empty(lse_shape if return_lse else (0,), dtype=torch.float32)


# ---- with a KV cache: flash_attn_with_kvcache ------------------------------------------------


def _kvcache(q, k_cache, v_cache, cache_seqlens, causal, softmax_scale, max_seqlen_k, return_lse,
             check="run"):
    named = (("q", q), ("k_cache", k_cache), ("v_cache", v_cache))
    dtype = _dtype_name(named)
    _check_index("cache_seqlens", cache_seqlens)
    if check:
        _check_devices(named + (("cache_seqlens", cache_seqlens),), check == "fake")
    spec, run = _plans.kvcache_spec(q.shape, q.stride(), k_cache.shape, k_cache.stride(), v_cache.shape,
                                    v_cache.stride(), cache_seqlens.shape, dtype, causal, softmax_scale,
                                    max_seqlen_k, return_lse)
    b, sq, hq, d = q.shape
    return spec, run, (b, sq, hq, d), (b, sq, hq)


@torch.library.custom_op("gqaforge::attention_with_kvcache", mutates_args=())
def _kvcache_op(q: Tensor, k_cache: Tensor, v_cache: Tensor, cache_seqlens: Tensor, causal: bool,
                softmax_scale: float, max_seqlen_k: int, return_lse: bool) -> Tuple[Tensor, Tensor]:
    # Keyed by the rounded bound: a cache growing by a token a step hits the same entry until its
    # bound doubles (with the raw bound every step missed and rebuilt its spec in Python).
    bound = _plans.kv_bound(max_seqlen_k, k_cache.shape[1]) if k_cache.dim() == 4 else max_seqlen_k
    key = ("kvcache", q.shape, q.stride(), k_cache.shape, k_cache.stride(), v_cache.shape, v_cache.stride(),
           q.dtype, k_cache.dtype, v_cache.dtype, cache_seqlens.dtype, cache_seqlens.shape, cache_seqlens.stride(),
           q.device, k_cache.device, v_cache.device, cache_seqlens.device, causal, softmax_scale, bound,
           return_lse)
    e = _plans.calls.get(key)
    if e is None:
        spec, run, o_shape, lse_shape = _kvcache(q, k_cache, v_cache, cache_seqlens, causal, softmax_scale,
                                                 max_seqlen_k, return_lse)
        e = _plans.calls.setdefault(key, _entry(spec, run, q.device, o_shape, lse_shape))
    return _launch(e, q, k_cache, v_cache, return_lse, cache_seqlens.data_ptr(), 0, 0)


@_kvcache_op.register_fake
def _(q, k_cache, v_cache, cache_seqlens, causal, softmax_scale, max_seqlen_k, return_lse):
    _, _, o_shape, lse_shape = _kvcache(q, k_cache, v_cache, cache_seqlens, causal, softmax_scale, max_seqlen_k,
                                        return_lse, check="fake")
    return q.new_empty(o_shape), q.new_empty(lse_shape if return_lse else (0,), dtype=torch.float32)


# ---- packed sequences: flash_attn_varlen_func ------------------------------------------------


def _varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, causal, softmax_scale, return_lse,
            check="run"):
    named = (("q", q), ("k", k), ("v", v))
    dtype = _dtype_name(named)
    _check_index("cu_seqlens_q", cu_seqlens_q)
    _check_index("cu_seqlens_k", cu_seqlens_k)
    if check:
        _check_devices(named + (("cu_seqlens_q", cu_seqlens_q), ("cu_seqlens_k", cu_seqlens_k)), check == "fake")
    spec, run = _plans.varlen_spec(q.shape, q.stride(), k.shape, k.stride(), v.shape, v.stride(),
                                   cu_seqlens_q.shape, cu_seqlens_k.shape, max_seqlen_q, max_seqlen_k, dtype, causal,
                                   softmax_scale, return_lse)
    t, hq, d = q.shape
    return spec, run, (t, hq, d), (t, hq)


@torch.library.custom_op("gqaforge::attention_varlen", mutates_args=())
def _varlen_op(q: Tensor, k: Tensor, v: Tensor, cu_seqlens_q: Tensor, cu_seqlens_k: Tensor, max_seqlen_q: int,
               max_seqlen_k: int, causal: bool, softmax_scale: float, return_lse: bool) -> Tuple[Tensor, Tensor]:
    key = ("varlen", q.shape, q.stride(), k.shape, k.stride(), v.shape, v.stride(), q.dtype, k.dtype, v.dtype,
           cu_seqlens_q.dtype, cu_seqlens_q.shape, cu_seqlens_q.stride(), cu_seqlens_k.dtype, cu_seqlens_k.shape,
           cu_seqlens_k.stride(), q.device, k.device, v.device, cu_seqlens_q.device, cu_seqlens_k.device,
           max_seqlen_q, max_seqlen_k, causal, softmax_scale, return_lse)
    e = _plans.calls.get(key)
    if e is None:
        spec, run, o_shape, lse_shape = _varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                                                causal, softmax_scale, return_lse)
        e = _plans.calls.setdefault(key, _entry(spec, run, q.device, o_shape, lse_shape))
    if q.shape[0] == 0:  # no query token at all: nothing to compute
        return torch.empty(e.o_shape, dtype=q.dtype, device=q.device), torch.empty(
            e.lse_shape if return_lse else (0,), dtype=torch.float32, device=q.device)
    return _launch(e, q, k, v, return_lse, 0, cu_seqlens_q.data_ptr(), cu_seqlens_k.data_ptr())


@_varlen_op.register_fake
def _(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, causal, softmax_scale, return_lse):
    _, _, o_shape, lse_shape = _varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, causal,
                                       softmax_scale, return_lse, check="fake")
    return q.new_empty(o_shape), q.new_empty(lse_shape if return_lse else (0,), dtype=torch.float32)


# ---- the public functions --------------------------------------------------------------------


def _require_tensors(*named) -> None:
    # Before the op: the dispatcher's own error for a non-tensor names no argument.
    for name, t in named:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")


def _scale(softmax_scale) -> float:
    if softmax_scale is None:
        return 0.0
    s = float(softmax_scale)
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"softmax_scale {softmax_scale} must be a positive finite number (or None)")
    return s


def attention(q: Tensor, k: Tensor, v: Tensor, causal: bool = False, softmax_scale: Optional[float] = None,
              return_lse: bool = False):
    """Attention in the flash_attn_func layout: q [batch, seq_q, n_q_heads, head_dim], k and v
    [batch, seq_k, n_kv_heads, head_dim] (n_q_heads a multiple of n_kv_heads), bf16 or fp16 on
    one CUDA device, any strides with a contiguous head dim that are multiples of 8 elements.

    causal masks bottom-right: query i sees keys j <= i + seq_k - seq_q. softmax_scale defaults
    to 1/sqrt(head_dim). Returns O [batch, seq_q, n_q_heads, head_dim], and with return_lse
    also the fp32 log-sum-exp [batch, n_q_heads, seq_q] (natural log; a strided view).
    """
    _require_tensors(("q", q), ("k", k), ("v", v))
    o, lse = _attention_op(q, k, v, bool(causal), _scale(softmax_scale), bool(return_lse))
    return (o, lse.transpose(1, 2)) if return_lse else o


def attention_with_kvcache(q: Tensor, k_cache: Tensor, v_cache: Tensor, cache_seqlens, causal: bool = True,
                           softmax_scale: Optional[float] = None, max_seqlen_k: Optional[int] = None,
                           return_lse: bool = False):
    """Decode against a KV cache: q [batch, seq_q, n_q_heads, head_dim] (seq_q 1-16 uses the
    split-KV decode kernels; more, prefill), k_cache and v_cache [batch, capacity, n_kv_heads,
    head_dim] with any strides (e.g. a [batch, n_kv_heads, capacity, head_dim] cache transposed),
    cache_seqlens int32 [batch] on the device: sequence b attends to its first cache_seqlens[b]
    keys (the query tokens' own keys already written), each at least 1 and at most the capacity
    (or max_seqlen_k, a host-side bound that lets the plan size its splits to the lengths in
    use instead of the capacity). An int cache_seqlens is the same length for every sequence.
    Returns O like q, and with return_lse the LSE [batch, n_q_heads, seq_q].
    """
    _require_tensors(("q", q), ("k_cache", k_cache), ("v_cache", v_cache))
    if isinstance(cache_seqlens, int):
        if max_seqlen_k is None:
            max_seqlen_k = cache_seqlens
        cache_seqlens = torch.full((q.shape[0],), cache_seqlens, dtype=torch.int32, device=q.device)
    _require_tensors(("cache_seqlens", cache_seqlens))
    bound = 0 if max_seqlen_k is None else int(max_seqlen_k)
    if max_seqlen_k is not None and bound < 1:
        raise ValueError(f"max_seqlen_k {max_seqlen_k} must be at least 1")
    o, lse = _kvcache_op(q, k_cache, v_cache, cache_seqlens, bool(causal), _scale(softmax_scale), bound,
                         bool(return_lse))
    return (o, lse.transpose(1, 2)) if return_lse else o


def attention_varlen(q: Tensor, k: Tensor, v: Tensor, cu_seqlens_q: Tensor, cu_seqlens_k: Tensor, max_seqlen_q: int,
                     max_seqlen_k: int, causal: bool = False, softmax_scale: Optional[float] = None,
                     return_lse: bool = False):
    """Packed sequences (flash_attn_varlen_func): q [total_q, n_q_heads, head_dim], k and v
    [total_k, n_kv_heads, head_dim]; cu_seqlens_q/k int32 [batch + 1] prefix sums on the device
    (a sequence may be empty); max_seqlen_q/k bound the sequences' lengths (host ints).
    Returns O like q, and with return_lse the LSE [n_q_heads, total_q].
    """
    _require_tensors(("q", q), ("k", k), ("v", v), ("cu_seqlens_q", cu_seqlens_q), ("cu_seqlens_k", cu_seqlens_k))
    o, lse = _varlen_op(q, k, v, cu_seqlens_q, cu_seqlens_k, int(max_seqlen_q), int(max_seqlen_k), bool(causal),
                        _scale(softmax_scale), bool(return_lse))
    return (o, lse.transpose(0, 1)) if return_lse else o


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None, enable_gqa: bool = False):
    """torch.nn.functional.scaled_dot_product_attention's layout: query [batch, n_q_heads, L,
    head_dim], key and value [batch, n_kv_heads, S, head_dim]; the result [batch, n_q_heads, L,
    head_dim] (a strided view, as SDPA's flash backend returns). Transposed views go to
    attention(), nothing is copied. No attn_mask, no dropout; with is_causal, L must equal S
    (SDPA's causal mask is top-left aligned, gqaforge's bottom-right: they agree only there).
    """
    _require_tensors(("query", query), ("key", key), ("value", value))
    if attn_mask is not None:
        raise ValueError("attn_mask is not supported: gqaforge takes is_causal or no mask")
    if dropout_p != 0.0:
        raise ValueError(f"dropout_p {dropout_p} is not supported: gqaforge has no dropout")
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.dim() != 4:
            raise ValueError(f"{name} must be 4-D [batch, heads, seq, head_dim], got shape {tuple(t.shape)}")
    if query.shape[1] != key.shape[1] and not enable_gqa:
        raise ValueError(f"query has {query.shape[1]} heads, key {key.shape[1]}: pass enable_gqa=True for "
                         f"grouped-query attention")
    if is_causal and query.shape[2] != key.shape[2]:
        raise ValueError(f"is_causal with L {query.shape[2]} != S {key.shape[2]}: SDPA's causal mask is top-left "
                         f"aligned and gqaforge's bottom-right; call gqaforge.attention(causal=True) for the "
                         f"bottom-right mask")
    o = attention(query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2), causal=is_causal,
                  softmax_scale=scale)
    return o.transpose(1, 2)


def describe(q: Tensor, k: Tensor, v: Tensor, causal: bool = False, softmax_scale: Optional[float] = None,
             return_lse: bool = False, *, cache_seqlens: Optional[Tensor] = None, max_seqlen_k: Optional[int] = None,
             cu_seqlens_q: Optional[Tensor] = None, cu_seqlens_k: Optional[Tensor] = None,
             max_seqlen_q: Optional[int] = None) -> dict:
    """Which kernel and config the call with these arguments would run, and why: attention(), or
    attention_with_kvcache() when cache_seqlens is given, or attention_varlen() when cu_seqlens_q
    is. Tensors may be on the meta device (nothing is read). Plans (and caches) the kernel.

    The dict is the C API's gqaforge_plan_describe (decision exact | nearest | default, config,
    reason, bucket, measured time, workspace, loaded / not_loaded) plus `problem` (the C API
    problem as planned) and `run` (batch, q_len, kv_len a run passes).
    """
    _require_tensors(("q", q), ("k", k), ("v", v))
    scale = _scale(softmax_scale)
    if cache_seqlens is not None:
        spec, run, _, _ = _kvcache(q, k, v, cache_seqlens, causal, scale, max_seqlen_k or 0, return_lse,
                                   check=None)
    elif cu_seqlens_q is not None:
        if cu_seqlens_k is None or max_seqlen_q is None or max_seqlen_k is None:
            raise ValueError("varlen describe needs cu_seqlens_q, cu_seqlens_k, max_seqlen_q and max_seqlen_k")
        spec, run, _, _ = _varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, causal, scale,
                                  return_lse, check=None)
    else:
        spec, run, _, _ = _dense(q, k, v, causal, scale, return_lse, check=None)
    info = _plan(spec, q.device).describe()
    info["problem"] = spec._asdict()
    info["run"] = run._asdict()
    return info
