#!/usr/bin/env python3
"""Times the peers (PyTorch SDPA with the FlashAttention-2 and cuDNN backends) on the same
shapes as `gqaforge bench --suite ...`, with the same method: inputs rotated past the L2 cache,
CUDA-graph replay for decode, CUDA events, the median of repetitions. Writes CSV.

usage: python3 bench/peers.py --suite decode|prefill --csv out.csv
       python3 bench/peers.py --shapes-from ours.csv --csv out.csv   (the shapes of another CSV)
"""
import argparse
import csv
import math
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F

DECODE_HEADS = [(32, 8, 128), (32, 32, 128), (8, 1, 128), (16, 2, 128), (28, 4, 128), (40, 8, 128),
                (64, 8, 128), (32, 8, 64), (8, 1, 64)]
PREFILL_HEADS = [(32, 8, 128), (32, 32, 128), (8, 1, 128), (16, 2, 128), (32, 8, 64), (16, 2, 256)]
SPECULATIVE = [(32, 8, 128, 16, 16384), (8, 1, 128, 1, 131072), (16, 2, 128, 4, 32768)]
BACKENDS = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}


def decode_suite():
    for hq, hkv, d in DECODE_HEADS:
        for b in (1, 4, 16, 64):
            for kv in (1024, 4096, 16384, 65536, 131072):
                if 2.0 * b * kv * hkv * d * 2 > 40e9:
                    continue
                yield dict(phase="decode", hq=hq, hkv=hkv, d=d, causal=1, batch=b, q_len=1, kv_len=kv)
    # Speculative decoding: several query tokens per step (gqaforge bench's decode suite too).
    for hq, hkv, d, b, kv in SPECULATIVE:
        for q in (2, 4, 8, 16):
            yield dict(phase="decode", hq=hq, hkv=hkv, d=d, causal=1, batch=b, q_len=q, kv_len=kv)


def prefill_suite():
    for hq, hkv, d in PREFILL_HEADS:
        for causal in (1, 0):
            for seq in (512, 2048, 8192, 16384, 65536):
                b = 1 if seq == 65536 else 16384 // seq
                yield dict(phase="prefill", hq=hq, hkv=hkv, d=d, causal=causal, batch=b, q_len=seq, kv_len=seq)


def shapes_from_csv(path):
    """The distinct shapes of a CSV with phase,hq,hkv,d,causal,batch,q_len,kv_len columns, in order."""
    shapes, seen = [], set()
    for r in csv.DictReader(open(path)):
        shape = dict(phase=r["phase"], **{k: int(r[k]) for k in ("hq", "hkv", "d", "causal", "batch", "q_len",
                                                                 "kv_len")})
        if tuple(shape.values()) not in seen:
            seen.add(tuple(shape.values()))
            shapes.append(shape)
    return shapes


def visible_pairs(q, k, causal):
    if not causal:
        return q * k
    off = k - q
    if off >= 0:
        return q * (off + 1) + q * (q - 1) / 2
    rows = q + off
    return rows * (rows + 1) / 2


def time_fn(fn, copies, reps=15, min_rep_ms=2.0, graph=True):
    for i in range(3):
        fn(i % copies)
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record(); fn(0); e.record(); torch.cuda.synchronize()
    calls = max(1, min(200, math.ceil(min_rep_ms / max(s.elapsed_time(e), 1e-4))))

    def rep():
        for i in range(calls):
            fn(i % copies)
    if graph:
        g = torch.cuda.CUDAGraph()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            rep()  # warm the allocator on the side stream
        torch.cuda.current_stream().wait_stream(stream)
        with torch.cuda.graph(g):
            rep()
        run = g.replay
    else:
        run = rep
    run(); torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s.record(); run(); e.record(); torch.cuda.synchronize()
        times.append(s.elapsed_time(e) * 1e3 / calls)
    times.sort()
    return times[len(times) // 2]


def bench(shape, backend):
    b, hq, hkv, d = shape["batch"], shape["hq"], shape["hkv"], shape["d"]
    q_len, kv = shape["q_len"], shape["kv_len"]
    kv_bytes = 2.0 * b * kv * hkv * d * 2
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    copies = int(min(64, max(2, math.ceil(2 * l2 / kv_bytes) + 1)))
    sets = []
    for _ in range(copies):
        q = torch.randn(b, hq, q_len, d, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(b, hkv, kv, d, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(b, hkv, kv, d, device="cuda", dtype=torch.bfloat16)
        sets.append((q, k, v))
    # Prefill is causal when asked. Decode is timed without a mask: PyTorch's is_causal aligns
    # the mask top-left, which for q_len < kv_len would hide almost every key, while gqaforge's
    # bottom-right mask hides only q_len - 1 keys of the last rows (< 0.01% of the work at 16
    # tokens against 16K keys), so unmasked timing is the fair comparison.
    causal = bool(shape["causal"]) and shape["phase"] == "prefill"

    def fn(i):
        q, k, v = sets[i]
        with sdpa_kernel(BACKENDS[backend]):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=hq != hkv)
    us = time_fn(fn, copies, graph=shape["phase"] == "decode")
    del sets
    torch.cuda.empty_cache()
    return us


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", choices=["decode", "prefill"])
    ap.add_argument("--shapes-from", help="a CSV with phase,hq,hkv,d,causal,batch,q_len,kv_len columns")
    ap.add_argument("--csv", required=True)
    args = ap.parse_args()
    if args.shapes_from:
        shapes = shapes_from_csv(args.shapes_from)
    elif args.suite:
        shapes = list(decode_suite() if args.suite == "decode" else prefill_suite())
    else:
        ap.error("give --suite or --shapes-from")
    with open(args.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phase", "hq", "hkv", "d", "causal", "batch", "q_len", "kv_len", "backend", "median_us",
                    "tbps", "tflops", "error"])
        for shape in shapes:
            for backend in BACKENDS:
                try:
                    us = bench(shape, backend)
                    kv_bytes = 2.0 * shape["batch"] * shape["kv_len"] * shape["hkv"] * shape["d"] * 2
                    flops = 4.0 * shape["batch"] * shape["hq"] * shape["d"] * visible_pairs(
                        shape["q_len"], shape["kv_len"], shape["causal"] and shape["q_len"] > 1)
                    row = [us, kv_bytes / us / 1e6, flops / us / 1e6, ""]
                except Exception as e:  # a backend refusing a shape is recorded, not fatal
                    row = ["", "", "", str(e).splitlines()[0][:120]]
                    torch.cuda.empty_cache()
                w.writerow([shape[k] for k in ("phase", "hq", "hkv", "d", "causal", "batch", "q_len", "kv_len")]
                           + [backend] + row)
                f.flush()
                print(shape, backend, row, flush=True)


if __name__ == "__main__":
    sys.exit(main())
