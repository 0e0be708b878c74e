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


BYTE_RATE = 4.5e12   # B/s, the decode targets' byte bound
MMA_RATE = 790e12    # FLOP/s, the decode targets' matmul bound


def kv_bytes(r):
    return 4 * int(r["batch"]) * int(r["hkv"]) * int(r["kv_len"]) * int(r["d"])


def decode_targets(rows):
    """The decode suite's speed targets, each with what this run measured and met / missed.
    `rows`: (our row, {peer: µs}) for every shape with a time."""
    out = []

    def verdict(ok):
        return "met" if ok else "missed"

    def gmean(xs):
        return math.exp(sum(math.log(x) for x in xs) / len(xs))

    sps = [min(p.values()) / float(r["median_us"]) for r, p in rows if p]
    one = [min(p.values()) / float(r["median_us"]) for r, p in rows if p and int(r["q_len"]) == 1]
    if sps:
        gm = gmean(sps)
        low = min(sps)
        out.append(f"geometric mean over the better peer {gm:.3f}× (target ≥ 1.15×): {verdict(gm >= 1.15)}"
                   + (f" ({gmean(one):.3f}× over the {len(one)} one-token shapes)" if one else "")
                   + f"; slowest {low:.2f}× (target ≥ 0.97×): {verdict(low >= 0.97)}; "
                   f"{sum(x >= 1.0 for x in sps)} of {len(sps)} shapes at ≥ 1.0×")
    big = [float(r["tbps"]) for r, _ in rows if kv_bytes(r) >= 1e9 and int(r["q_len"]) == 1]
    if big:
        out.append(f"K+V ≥ 1 GB, one token: {min(big):.2f}–{max(big):.2f} TB/s (target ≥ 4.5 on every one): "
                   f"{verdict(min(big) >= 4.5)}")
    recipe = [(r, p) for r, p in rows
              if int(r["batch"]) == 1 and int(r["hkv"]) <= 2 and int(r["kv_len"]) >= 65536 and int(r["q_len"]) == 1]
    if recipe:
        vs_cudnn = [p["cudnn"] / float(r["median_us"]) for r, p in recipe if "cudnn" in p]
        vs_bytes = [float(r["median_us"]) * 1e-6 / (kv_bytes(r) / BYTE_RATE) for r, _ in recipe]
        out.append(f"batch 1, n_kv ≤ 2, kv ≥ 64K: {min(vs_cudnn):.2f}–{max(vs_cudnn):.2f}× cuDNN (target ≥ 1.4×): "
                   f"{verdict(min(vs_cudnn) >= 1.4)}; {min(vs_bytes):.2f}–{max(vs_bytes):.2f}× the byte time "
                   f"(target ≤ 1.5×): {verdict(max(vs_bytes) <= 1.5)}")
    # Small calls: batch 1, kv <= 4K, and few enough bytes (<= 2 µs of reading) that launch
    # latency, not bandwidth, sets the time.
    small = [float(r["median_us"]) for r, _ in rows
             if int(r["batch"]) == 1 and int(r["kv_len"]) <= 4096 and kv_bytes(r) / BYTE_RATE <= 2e-6]
    if small:
        out.append(f"small calls (batch 1, kv ≤ 4K, ≤ 2 µs of bytes; {len(small)} shapes): {min(small):.1f}–"
                   f"{max(small):.1f} µs per call in a graph (target ≤ 5): {verdict(max(small) <= 5.0)}")
    spec = [(r, p) for r, p in rows if int(r["q_len"]) > 1]
    if spec:
        def bound(r):
            flops = 4.0 * int(r["batch"]) * int(r["hq"]) * int(r["q_len"]) * int(r["kv_len"]) * int(r["d"])
            return max(kv_bytes(r) / BYTE_RATE, flops / MMA_RATE) * 1e6
        over = [float(r["median_us"]) / bound(r) for r, _ in spec]
        lead = [min(p.values()) / float(r["median_us"]) for r, p in spec if p]
        spec_big = [float(r["tbps"]) for r, _ in spec if kv_bytes(r) >= 1e9]
        line = (f"speculative (q_len 2–16): {min(over):.2f}–{max(over):.2f}× max(byte, matmul) time (target ≤ 1.5×): "
                f"{verdict(max(over) <= 1.5)}")
        if spec_big:
            line += f"; ≥ 1 GB of K+V {min(spec_big):.2f}–{max(spec_big):.2f} TB/s (target ≥ 4.0): {verdict(min(spec_big) >= 4.0)}"
        if lead:
            line += f"; {min(lead):.2f}–{max(lead):.2f}× the better peer (target ≥ 2×): {verdict(min(lead) >= 2.0)}"
        out.append(line)
    return out


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
    timed = []
    for r in ours:
        k = key(r)
        p = peers.get(k, {})
        name = f"{r['hq']}/{r['hkv']}/{r['d']}"
        if r["error"] or not r["median_us"]:
            print(f"| {name} | {r['batch']} | {r['kv_len']} | error: {r['error'][:60]} |")
            continue
        us = float(r["median_us"])
        timed.append((r, p))
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
    if decode and timed:
        print("\nTargets (issue 17):")
        for line in decode_targets(timed):
            print(f"- {line}")


if __name__ == "__main__":
    main()
