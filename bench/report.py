#!/usr/bin/env python3
"""Turn the benchmark cases' JSON lines into bench/RESULTS.md."""
import json
import os
import platform
import statistics
import subprocess
import sys


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return "?"


def fmt(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    mem_kb = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
    out = []
    out.append("# Benchmark results\n")
    out.append("Written by `bench/run` (one run; every figure below comes from the same run, so")
    out.append("compare the ratios rather than the absolute times: the machines are shared and noisy).\n")
    out.append("## Machine and versions\n")
    out.append(f"- CPU cores: {os.cpu_count()}; memory: {mem_kb / 1024 / 1024:.1f} GiB; kernel {platform.release()}")
    out.append(f"- PostgreSQL: {sh(os.environ.get('PGC_PG_BIN', '/usr/bin') + '/postgres --version')}")
    out.append(f"- Docker engine: {sh('dockerd --version')}")
    out.append(f"- libcurl: {sh('curl-config --version')}; OpenSSL: {sh('openssl version')}")
    repo = os.path.dirname(os.path.abspath(__file__))
    # bench/run is writing RESULTS.md as this runs: it does not make the tree dirty.
    dirty = sh(f"git -C {repo}/.. status --porcelain --untracked-files=no -- . ':!bench/RESULTS.md'")
    out.append(f"- pg_container: commit {sh(f'git -C {repo} rev-parse HEAD')}"
               f"{' with uncommitted changes' if dirty else ''} ({sh(f'git -C {repo} log -1 --format=%s')})\n")
    out.append("## Results\n")
    out.append("A target is met only when the whole spread is clear of it: for a ratio, from the")
    out.append("smallest sample over the largest baseline to the largest sample over the smallest")
    out.append("baseline; for an absolute target, every sample.  \"unclear\" means the spread")
    out.append("straddles the target.\n")
    out.append("| case | metric | samples | median | spread (min-max) | baseline | baseline median (min-max) | ratio | ratio spread | target | met |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    missed = []
    for r in rows:
        s, b = r["samples"], r["baseline"]
        med = statistics.median(s)
        bmed = statistics.median(b) if b else None
        ratio = med / bmed if bmed else None
        lo = min(s) / max(b) if b and max(b) else None
        hi = max(s) / min(b) if b and min(b) else None
        met = "?"
        if r["ratio"] not in ("-", "") and lo is not None and hi is not None:
            if r["ratio"].startswith(">="):
                limit = float(r["ratio"][2:])
                met = "yes" if lo >= limit else "no" if hi < limit else "unclear"
            else:
                limit = float(r["ratio"])
                met = "yes" if hi <= limit else "no" if lo > limit else "unclear"
        elif r["note"].startswith("absolute target: median <= "):
            limit = float(r["note"].split("<= ")[1].split()[0])
            met = "yes" if max(s) <= limit else "no" if min(s) > limit else "unclear"
            explanation = r["note"].split(";", 1)[1].strip() if ";" in r["note"] else ""
            if explanation:
                notes.append(f"- {r['case']}: {explanation}")
        if met in ("no", "unclear"):
            missed.append(f"- {r['case']}: {met}; median {fmt(med)} {r['unit']}"
                          + (f", ratio {fmt(ratio)} (spread {fmt(lo)}-{fmt(hi)})" if ratio is not None else "")
                          + f"; target {r['target']}")
        unit = r["unit"]
        out.append(
            f"| {r['case']} | {r['metric']} | {len(s)} | {fmt(med)} {unit} | {fmt(min(s))}-{fmt(max(s))} | "
            f"{r['baseline_name']} | {fmt(bmed) + ' ' + unit + ' (' + fmt(min(b)) + '-' + fmt(max(b)) + ')' if bmed else '-'} | "
            f"{fmt(ratio) if ratio is not None else '-'} | {fmt(lo) + '-' + fmt(hi) if lo is not None and hi is not None else '-'} | "
            f"{r['target']} | {met} |")
        if r["note"] and not r["note"].startswith("absolute target"):
            notes.append(f"- {r['case']}: {r['note']}")
    out.append("\n## Targets missed or unclear\n")
    out.extend(missed or ["- none"])
    if notes:
        out.append("\n## Notes\n")
        out.extend(notes)
    out.append("\n## How to reproduce\n")
    out.append("```sh\nbench/run            # every case\nbench/run bench/cases/reap_parallel.sh   # one case\n```")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
