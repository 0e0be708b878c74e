#!/usr/bin/env python3
"""Times bf16 GEMMs (cuBLAS through PyTorch) over a grid of (tokens M, out N, in K) on the GPU, with
operands rotated past the L2 cache and the median of CUDA-event-timed repetitions. The rows feed
the cost model's measured latency of the linear layers (family "linear").

usage: python3 bench/gemm.py --csv out.csv
"""
import argparse
import csv
import math

import torch


def time_gemm(m, n, k, reps=15):
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    w_bytes = 2 * n * k
    copies = int(min(16, max(2, math.ceil(2 * l2 / w_bytes) + 1)))
    xs = [torch.randn(m, k, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
    ws = [torch.randn(k, n, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
    outs = [torch.empty(m, n, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
    for i in range(3):
        torch.matmul(xs[i % copies], ws[i % copies], out=outs[i % copies])
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record(); torch.matmul(xs[0], ws[0], out=outs[0]); e.record(); torch.cuda.synchronize()
    calls = max(1, min(100, math.ceil(2.0 / max(s.elapsed_time(e), 1e-4))))
    g = torch.cuda.CUDAGraph()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for i in range(calls):
            torch.matmul(xs[i % copies], ws[i % copies], out=outs[i % copies])
    torch.cuda.current_stream().wait_stream(side)
    with torch.cuda.graph(g):
        for i in range(calls):
            torch.matmul(xs[i % copies], ws[i % copies], out=outs[i % copies])
    g.replay(); torch.cuda.synchronize()
    t = []
    for _ in range(reps):
        s.record(); g.replay(); e.record(); torch.cuda.synchronize()
        t.append(s.elapsed_time(e) * 1e3 / calls)
    t.sort()
    return t[len(t) // 2], t[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    a = ap.parse_args()
    sizes = [512, 1024, 2048, 4096, 8192, 16384]
    with open(a.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["m", "n", "k", "median_us", "min_us", "tflops", "tbps"])
        for m in (1, 4, 16, 64, 256, 1024):
            for n in sizes:
                for k in sizes:
                    med, mn = time_gemm(m, n, k)
                    flops = 2.0 * m * n * k
                    bytes_ = 2.0 * (m * k + k * n + m * n)
                    w.writerow([m, n, k, f"{med:.3f}", f"{mn:.3f}", f"{flops / med / 1e6:.2f}", f"{bytes_ / med / 1e6:.4f}"])
            f.flush()
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
