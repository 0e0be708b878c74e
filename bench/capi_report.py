#!/usr/bin/env python3
"""Joins `gqaforge_capi_bench compare` rows (tuned and heuristic-default plans through the C
API) with bench/peers.py rows of the same shapes and run, and prints the markdown table of
bench/RESULTS.md with geometric-mean summaries."""
import argparse
import csv
import math


def key(r):
    return (r["phase"],) + tuple(int(r[k]) for k in ("hq", "hkv", "d", "causal", "batch", "q_len", "kv_len"))


def gmean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--peers", required=True)
    a = ap.parse_args()
    ours = {}
    for r in csv.DictReader(open(a.ours)):
        ours.setdefault(key(r), {})[r["variant"]] = r
    peers = {}
    for r in csv.DictReader(open(a.peers)):
        if r["median_us"]:
            peers.setdefault(key(r), {})[r["backend"]] = float(r["median_us"])
    print("| shape | tuned µs | decision | default µs | flash µs | cuDNN µs | tuned rate | tuned vs default | "
          "tuned vs best peer |")
    print("|---|---|---|---|---|---|---|---|---|")
    vs_default, vs_peer = {"decode": [], "prefill": []}, {"decode": [], "prefill": []}
    for k, v in ours.items():
        t, d = v.get("tuned"), v.get("default")
        if not t or not t["median_us"]:
            print(f"| {' '.join(map(str, k))} | error: {t['error'] if t else 'missing'} |||||||")
            continue
        tu = float(t["median_us"])
        du = float(d["median_us"]) if d and d["median_us"] else None
        p = peers.get(k, {})
        best = min(p.values()) if p else None
        phase = k[0]
        rate = f"{float(t['tbps']):.2f} TB/s" if phase == "decode" else f"{float(t['tflops']):.0f} TFLOP/s"
        name = f"{phase} {k[1]}:{k[2]} d{k[3]} {'causal' if k[4] else 'full'} b{k[5]} q{k[6]} kv{k[7]}"
        if du:
            vs_default[phase].append(du / tu)
        if best:
            vs_peer[phase].append(best / tu)
        fmt = lambda x: f"{x:.1f}" if x else "—"
        print(f"| {name} | {tu:.1f} | {t['decision']} | {fmt(du)} | {fmt(p.get('flash'))} | {fmt(p.get('cudnn'))} | "
              f"{rate} | {du / tu if du else float('nan'):.2f}× | {best / tu if best else float('nan'):.2f}× |")
    print()
    for phase in ("decode", "prefill"):
        if vs_default[phase]:
            print(f"- {phase}: tuned over heuristic default {gmean(vs_default[phase]):.3f}× (geomean of "
                  f"{len(vs_default[phase])}), tuned over the better peer {gmean(vs_peer[phase]):.3f}×")


if __name__ == "__main__":
    main()
