#!/usr/bin/env python3
"""Joins `gqaforge bench --csv` rows with bench/peers.py rows of the same run and prints the
markdown tables of bench/RESULTS.md: our time and rate, the fraction of the ceiling, each peer,
and our speedup over the better peer, with a geometric-mean summary."""
import argparse
import csv
import math

DECODE_CEILING = 4.58   # TB/s, best decode KV read seen on the H200
GEMM_CEILING = 790.0    # TFLOP/s, bf16 GEMM on the H200


def key(r):
    return tuple(int(r[k]) for k in ("hq", "hkv", "d", "causal", "batch", "q_len", "kv_len"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", choices=["decode", "prefill"], required=True)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--peers", required=True)
    a = ap.parse_args()
    ours = list(csv.DictReader(open(a.ours)))
    peers = {}
    for r in csv.DictReader(open(a.peers)):
        if r["median_us"]:
            peers.setdefault(key(r), {})[r["backend"]] = float(r["median_us"])
    decode = a.suite == "decode"
    if decode:
        print("| Hq/Hkv/D | B | q | kv | ours µs | TB/s | % of 4.58 | flash µs | cuDNN µs | speedup vs best peer | config |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
    else:
        print("| Hq/Hkv/D | causal | B | seq | ours µs | TFLOP/s | % of 790 | flash TFLOP/s | cuDNN TFLOP/s | vs FA2 | vs cuDNN | config |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    logs, worst, n = [], None, 0
    for r in ours:
        k = key(r)
        p = peers.get(k, {})
        name = f"{r['hq']}/{r['hkv']}/{r['d']}"
        if r["error"] or not r["median_us"]:
            print(f"| {name} | {r['batch']} | {r['kv_len']} | error: {r['error'][:60]} |")
            continue
        us = float(r["median_us"])
        best = min(p.values()) if p else None
        sp = best / us if best else None
        if sp:
            logs.append(math.log(sp))
            worst = sp if worst is None else min(worst, sp)
        fl, cu = p.get("flash"), p.get("cudnn")
        if decode:
            tb = float(r["tbps"])
            print(f"| {name} | {r['batch']} | {r['q_len']} | {int(r['kv_len'])//1024}K | {us:.1f} | {tb:.2f} | {100*tb/DECODE_CEILING:.0f}% | "
                  f"{fl and f'{fl:.1f}' or '—'} | {cu and f'{cu:.1f}' or '—'} | {sp and f'{sp:.2f}×' or '—'} | `{r['config']}` |")
        else:
            tf = float(r["tflops"])
            ratio = lambda t: t and f"{t/us:.2f}×" or "—"
            ptf = lambda t: t and f"{tf*us/t:.0f}" or "—"
            print(f"| {name} | {r['causal']} | {r['batch']} | {int(r['q_len'])//1024 if int(r['q_len'])>=1024 else r['q_len']}"
                  f"{'K' if int(r['q_len'])>=1024 else ''} | {us:.0f} | {tf:.0f} | {100*tf/GEMM_CEILING:.0f}% | {ptf(fl)} | {ptf(cu)} | "
                  f"{ratio(fl)} | {ratio(cu)} | `{r['config']}` |")
        n += 1
    if logs:
        print(f"\nShapes: {n}; geometric-mean speedup over the better peer: {math.exp(sum(logs)/len(logs)):.3f}×; "
              f"slowest relative: {worst:.2f}×")


if __name__ == "__main__":
    main()
