"""The Python package on a GPU: per-call overhead and end-to-end times against SDPA.

    PYTHONPATH=build/python python bench/python_bench.py [--library h200.gqalib] [--iters 200]

1. Overhead: host time per call of gqaforge.attention_with_kvcache (the custom op: plan-cache
   lookup, torch.empty of O and the workspace, the stream, the run) against gqaforge._C.Plan.run
   alone on preallocated buffers (the C API call through nanobind), on a decode shape small
   enough that the GPU never holds the host back (µs/call, the median of 5 rounds).
2. End to end: GPU time per call (CUDA events over --iters calls) of gqaforge.attention /
   attention_with_kvcache against torch's SDPA with the flash and the cuDNN backends, on the
   decode and prefill benchmark shapes (heads 32:8, head dim 128, bf16). SDPA gets enable_gqa;
   where a backend refuses a shape the row says so.
Needs PyTorch and a CUDA GPU. Prints a Markdown table for bench/RESULTS.md.
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import gqaforge
from gqaforge import _plans

HQ, HKV, D = 32, 8, 128
DECODE = [(1, 4096), (16, 4096), (1, 32768), (64, 1024), (8, 131072)]  # (batch, kv_len)
PREFILL = [(1, 4096), (2, 2048), (1, 16384), (4, 1024)]  # (batch, seq), causal


def gpu_us(fn, iters):
    for _ in range(3):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) * 1e3 / iters


def host_us(fn, iters):
    rounds = []
    for _ in range(5):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        rounds.append((time.perf_counter() - t0) * 1e6 / iters)
        torch.cuda.synchronize()
    return statistics.median(rounds)


def sdpa(backend):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    kind = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}[backend]

    def run(q, k, v, causal):
        with sdpa_kernel(kind):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)

    return run


def graph_us(fn, iters):
    """GPU µs per call with the host out of the way: `iters` calls captured in one CUDA graph,
    replayed, median of 5 (what the suites and bench/peers.py measure)."""
    fn()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn()  # warm the allocator on the capture stream
    torch.cuda.current_stream().wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(iters):
            fn()
    g.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(5):
        start.record()
        g.replay()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1e3 / iters)
    return statistics.median(times)


def timed_or_reason(fn, iters):
    try:
        return f"{gpu_us(fn, iters):.1f} / {graph_us(fn, iters):.1f}"
    except RuntimeError as e:
        return "refused (" + str(e).splitlines()[0][:60] + ")"


def overhead(iters):
    b, cap = 1, 256
    q = torch.randn(b, 1, HQ, D, device="cuda", dtype=torch.bfloat16)
    kc = torch.randn(b, cap, HKV, D, device="cuda", dtype=torch.bfloat16)
    lens = torch.full((b,), cap, dtype=torch.int32, device="cuda")
    gqaforge.attention_with_kvcache(q, kc, kc, lens)
    entry = next(e for k, e in _plans.calls.items() if k[0] == "kvcache" and k[1] == q.shape)
    o = torch.empty_like(q)
    ws = torch.empty(max(1, entry.workspace_bytes), dtype=torch.uint8, device="cuda")
    stream = torch.cuda.current_stream().cuda_stream
    args = (entry.run.batch, entry.run.q_len, entry.run.kv_len, q.data_ptr(), kc.data_ptr(), kc.data_ptr(),
            o.data_ptr(), 0, lens.data_ptr(), 0, 0, ws.data_ptr(), entry.workspace_bytes, stream)
    plan = entry.plan
    raw = host_us(lambda: plan.run(*args), iters)
    op = host_us(lambda: gqaforge.attention_with_kvcache(q, kc, kc, lens), iters)
    flash = sdpa("flash")
    ref = host_us(lambda: flash(q.transpose(1, 2), kc.transpose(1, 2), kc.transpose(1, 2), False), iters)
    print("\n| per call (host µs), decode b1 kv256 32:8 d128 bf16 | µs |")
    print("| --- | ---: |")
    print(f"| gqaforge._C.Plan.run (the C API through nanobind) | {raw:.1f} |")
    print(f"| gqaforge.attention_with_kvcache (custom op) | {op:.1f} |")
    print(f"| Python layer over the C API | {op - raw:.1f} |")
    print(f"| torch SDPA flash, same shape | {ref:.1f} |")


def end_to_end(iters):
    flash, cudnn = sdpa("flash"), sdpa("cudnn")
    print("\nµs per call, eager loop / CUDA-graph replay (the eager figure is the host's pace where it "
          "exceeds the GPU's; inputs are not rotated, so shapes whose K+V fit the 60 MB L2 are L2-warm for all)")
    print("\n| shape (32:8 d128 bf16) | gqaforge µs | decision | SDPA flash µs | SDPA cuDNN µs |")
    print("| --- | ---: | --- | ---: | ---: |")
    for b, kv in DECODE:
        q = torch.randn(b, 1, HQ, D, device="cuda", dtype=torch.bfloat16)
        # K and V apart: one tensor for both would let V's tiles hit the L2 right after K's.
        kc = torch.randn(b, kv + 256, HKV, D, device="cuda", dtype=torch.bfloat16)  # capacity above the length
        vc = torch.randn(b, kv + 256, HKV, D, device="cuda", dtype=torch.bfloat16)
        lens = torch.full((b,), kv, dtype=torch.int32, device="cuda")
        ours = timed_or_reason(lambda: gqaforge.attention_with_kvcache(q, kc, vc, lens, max_seqlen_k=kv), iters)
        d = gqaforge.describe(q, kc, vc, cache_seqlens=lens, max_seqlen_k=kv)
        qt, kt, vt = q.transpose(1, 2), kc[:, :kv].transpose(1, 2), vc[:, :kv].transpose(1, 2)
        row = [timed_or_reason(lambda f=f: f(qt, kt, vt, False), iters) for f in (flash, cudnn)]
        print(f"| decode b{b} kv{kv} (cache {kv + 256}) | {ours} | {d['decision']} | {row[0]} | {row[1]} |")
    for b, s in PREFILL:
        q = torch.randn(b, s, HQ, D, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(b, s, HKV, D, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(b, s, HKV, D, device="cuda", dtype=torch.bfloat16)
        ours = timed_or_reason(lambda: gqaforge.attention(q, k, v, causal=True), iters)
        d = gqaforge.describe(q, k, v, causal=True)
        qt, kt, vt = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        row = [timed_or_reason(lambda f=f: f(qt, kt, vt, True), iters) for f in (flash, cudnn)]
        print(f"| prefill causal b{b} s{s} | {ours} | {d['decision']} | {row[0]} | {row[1]} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", help="a tuned .gqalib (default: JIT only)")
    ap.add_argument("--iters", type=int, default=200)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("python_bench: needs a CUDA GPU")
    if args.library:
        gqaforge.load_library(args.library)
    print(f"gqaforge {gqaforge.version()}, PyTorch {torch.__version__}, {torch.cuda.get_device_name()}, library "
          f"{gqaforge.library().info()['path'] or '(JIT only)'}")
    overhead(max(args.iters, 1000))
    end_to_end(args.iters)


if __name__ == "__main__":
    main()
