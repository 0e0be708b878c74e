#!/usr/bin/env python3
"""Turns the CSVs of a benchmark run (`gqaforge bench --suite ... --csv`, bench/gemm.py) into the
text export format of the measurement database (db/export.h), so that `gqaforge db import` and
the cost model's measured objectives can use them. Only rows that passed the correctness gate
are exported; each becomes an `ok` measurement with `is_best` set (one config per problem: the
heuristic default that the benchmark ran).

usage: python3 bench/to_export.py --env-json env.json --decode d.csv --prefill p.csv --gemm g.csv > out.tsv
"""
import argparse
import csv
import hashlib
import json

COLUMNS_ENV = ["key", "gpu_name", "gpu_uuid", "sm_count", "cc_major", "cc_minor", "sm_clock_mhz", "mem_clock_mhz",
               "memory_bytes", "driver_version", "nvrtc_version", "codegen_version", "gqaforge_commit", "build_type",
               "host"]
COLUMNS_RUN = ["uid", "env_key", "command_line", "strategy", "started_at", "finished_at"]
COLUMNS_M = ["env_key", "family", "n_q_heads", "n_kv_heads", "head_dim", "dtype", "causal", "batch", "q_len", "kv_len",
             "gemm_m", "gemm_n", "gemm_k", "kernel_key", "config", "status", "message", "median_us", "min_us",
             "stddev_us", "repetitions", "max_error", "error_bound", "tflops", "tbps", "compile_ms", "registers",
             "shared_bytes", "spill_bytes", "is_best", "measured_at", "run_uid"]


def env_key(e):
    canonical = (f"gpu={e['gpu_name']};sms={e['sm_count']};cc={e['cc_major']}.{e['cc_minor']};"
                 f"driver={e['driver_version']};nvrtc={e['nvrtc_version']};codegen={e['codegen_version']}")
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def esc(v):
    s = str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if s.startswith("@") or s.startswith("#"):
        s = "\\" + s
    return s


def num(x):
    return repr(float(x)) if x not in ("", None) else "0"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env-json", required=True)
    ap.add_argument("--decode")
    ap.add_argument("--prefill")
    ap.add_argument("--gemm")
    ap.add_argument("--measured-at", required=True)
    a = ap.parse_args()
    env = json.load(open(a.env_json))
    key = env_key(env)
    run_uid = hashlib.sha256(f"{key}:{a.measured_at}:bench".encode()).hexdigest()[:16]
    rows = []
    for path in (a.decode, a.prefill):
        if not path:
            continue
        for r in csv.DictReader(open(path)):
            if r["error"] or r["gate"] != "pass":
                continue
            kk = hashlib.sha256(f"{r['phase']};{r['hq']}:{r['hkv']};{r['d']};{r['dtype']};{r['causal']};{r['config']}"
                                .encode()).hexdigest()
            rows.append({"family": r["phase"], "n_q_heads": r["hq"], "n_kv_heads": r["hkv"], "head_dim": r["d"],
                         "dtype": r["dtype"], "causal": r["causal"], "batch": r["batch"], "q_len": r["q_len"],
                         "kv_len": r["kv_len"], "gemm_m": 0, "gemm_n": 0, "gemm_k": 0, "kernel_key": kk,
                         "config": r["config"], "median_us": num(r["median_us"]), "min_us": num(r["min_us"]),
                         "stddev_us": num(r["stddev_us"]), "tflops": num(r["tflops"]), "tbps": num(r["tbps"])})
    if a.gemm:
        for r in csv.DictReader(open(a.gemm)):
            kk = hashlib.sha256(f"linear;bf16;{r['m']}x{r['n']}x{r['k']};cublas".encode()).hexdigest()
            rows.append({"family": "linear", "n_q_heads": 0, "n_kv_heads": 0, "head_dim": 0, "dtype": "bf16",
                         "causal": 0, "batch": 0, "q_len": 0, "kv_len": 0, "gemm_m": r["m"], "gemm_n": r["n"],
                         "gemm_k": r["k"], "kernel_key": kk, "config": "cublas", "median_us": num(r["median_us"]),
                         "min_us": num(r["min_us"]), "stddev_us": "0", "tflops": num(r["tflops"]),
                         "tbps": num(r["tbps"])})
    out = ["# gqaforge-db-export v1"]
    out.append("\t".join(["@environments"] + COLUMNS_ENV))
    out.append("\t".join(esc(key if c == "key" else env[c]) for c in COLUMNS_ENV))
    out.append("\t".join(["@tune_runs"] + COLUMNS_RUN))
    out.append("\t".join(esc(v) for v in [run_uid, key, "bench/run_gpu.sh (benchmark suites, heuristic configs)",
                                            "benchmark", a.measured_at, a.measured_at]))
    out.append("\t".join(["@measurements"] + COLUMNS_M))
    for r in rows:
        r.update({"env_key": key, "status": "ok", "message": "", "repetitions": 15, "max_error": "0",
                  "error_bound": "0", "compile_ms": "0", "registers": 0, "shared_bytes": 0, "spill_bytes": 0,
                  "is_best": 1, "measured_at": a.measured_at, "run_uid": run_uid})
        out.append("\t".join(esc(r[c]) for c in COLUMNS_M))
    print("\n".join(out))


if __name__ == "__main__":
    main()
