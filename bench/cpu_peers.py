#!/usr/bin/env python3
"""Times PyTorch's CPU scaled_dot_product_attention (its flash implementation, with every core)
on the shapes of a `gqaforge bench --backend cpu --csv` file, with the same inputs' layout the
peers get on the GPU ([batch, heads, tokens, head_dim] contiguous, bf16) and the same method:
enough input sets to leave the last-level cache, a warm-up call, the median of repetitions.
Writes CSV (the columns of bench/peers.py).

usage: python3 bench/cpu_peers.py --shapes-from ours.csv --csv out.csv
"""
import argparse
import csv
import math
import os
import time

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F

from peers import shapes_from_csv, visible_pairs  # bench/peers.py: the GPU peers' shape reader and FLOP count


def bench(shape, reps=15, budget_s=3.0):
    b, hq, hkv, d = shape["batch"], shape["hq"], shape["hkv"], shape["d"]
    q_len, kv = shape["q_len"], shape["kv_len"]
    kv_bytes = 2.0 * b * kv * hkv * d * 2
    copies = int(min(8, max(1, math.ceil(2 * 32e6 / kv_bytes))))
    sets = []
    for _ in range(copies):
        q = torch.randn(b, hq, q_len, d, dtype=torch.bfloat16)
        k = torch.randn(b, hkv, kv, d, dtype=torch.bfloat16)
        v = torch.randn(b, hkv, kv, d, dtype=torch.bfloat16)
        sets.append((q, k, v))
    # One query token sees every key; q_len == kv_len causal is the usual triangle.
    causal = bool(shape["causal"]) and q_len > 1

    def call(i):
        q, k, v = sets[i % copies]
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=hq != hkv)

    call(0)
    times, start = [], time.perf_counter()
    for r in range(reps):
        t0 = time.perf_counter()
        call(r + 1)
        times.append((time.perf_counter() - t0) * 1e6)
        if r >= 2 and time.perf_counter() - start > budget_s:
            break
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes-from", required=True)
    ap.add_argument("--csv", required=True)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    shapes = shapes_from_csv(args.shapes_from)
    with open(args.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phase", "hq", "hkv", "d", "causal", "batch", "q_len", "kv_len", "backend", "median_us",
                    "tbps", "tflops", "error"])
        for s in shapes:
            try:
                us = bench(s)
                kv_bytes = 2.0 * s["batch"] * s["kv_len"] * s["hkv"] * s["d"] * 2
                flops = 4.0 * s["batch"] * s["hq"] * s["d"] * visible_pairs(s["q_len"], s["kv_len"],
                                                                            s["causal"] and s["q_len"] > 1)
                row = [us, kv_bytes / us / 1e6, flops / us / 1e6, ""]
            except Exception as e:  # a refused shape is recorded, not fatal
                row = ["", "", "", str(e).splitlines()[0][:120]]
            w.writerow([s[k] for k in ("phase", "hq", "hkv", "d", "causal", "batch", "q_len", "kv_len")] +
                       ["torch-cpu"] + row)
            f.flush()
            print(s, row[0], flush=True)


if __name__ == "__main__":
    main()
