#!/usr/bin/env python3
"""Joins `gqaforge bench --backend cpu --csv` rows with bench/cpu_peers.py rows and the host's
ceilings (bench/cpu_ceilings) of the same run into the markdown tables of bench/RESULTS.md."""
import argparse
import csv
import math
import re


def key(r):
    return tuple(int(r[k]) for k in ("hq", "hkv", "d", "causal", "batch", "q_len", "kv_len"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--peers", required=True)
    ap.add_argument("--ceilings", required=True)
    a = ap.parse_args()
    text = open(a.ceilings).read()
    bw = float(re.search(r"read_bandwidth ([0-9.]+) GB/s", text).group(1))
    peak = float(re.search(r"fma_peak ([0-9.]+) GFLOP/s", text).group(1))
    peers = {key(r): float(r["median_us"]) for r in csv.DictReader(open(a.peers)) if r["median_us"]}
    rows = list(csv.DictReader(open(a.ours)))
    print(f"Ceilings measured in the same run: read bandwidth {bw:.1f} GB/s, fp32 FMA peak {peak:.0f} GFLOP/s.\n")
    print("| phase | Hq/Hkv/D | B | q | kv | ours | GB/s (% of read) | GFLOP/s (% of FMA) | torch-cpu | vs torch | config |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    logs = {"decode": [], "prefill": []}
    for r in rows:
        k = key(r)
        name = f"{r['hq']}/{r['hkv']}/{r['d']}"
        if r["error"] or not r["median_us"] or float(r["median_us"]) <= 0:
            print(f"| {r['phase']} | {name} | {r['batch']} | {r['q_len']} | {r['kv_len']} | error: {r['error'][:60]} |"
                  " | | | | |")
            continue
        us = float(r["median_us"])
        gbps = float(r["tbps"]) * 1e3
        gflops = float(r["tflops"]) * 1e3
        peer = peers.get(k)
        ratio = peer / us if peer else None
        if ratio:
            logs[r["phase"]].append(math.log(ratio))
        print(f"| {r['phase']} | {name} | {r['batch']} | {r['q_len']} | {r['kv_len']} | {us / 1e3:.2f} ms | "
              f"{gbps:.1f} ({100 * gbps / bw:.0f}%) | {gflops:.1f} ({100 * gflops / peak:.0f}%) | "
              f"{peer / 1e3:.2f} ms | {ratio:.2f}× | `{r['config']}` |" if peer else
              f"{gbps:.1f} ({100 * gbps / bw:.0f}%) | {gflops:.1f} ({100 * gflops / peak:.0f}%) | — | — | `{r['config']}` |")
    for phase, l in logs.items():
        if l:
            print(f"\n{phase}: geometric mean {math.exp(sum(l) / len(l)):.2f}× torch-cpu over {len(l)} shapes, "
                  f"{min(math.exp(x) for x in l):.2f}–{max(math.exp(x) for x in l):.2f}×")


if __name__ == "__main__":
    main()
