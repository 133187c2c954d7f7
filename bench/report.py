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
    out.append(f"- pg_container: {sh('git -C ' + os.path.dirname(os.path.abspath(__file__)) + ' describe --always --dirty')}\n")
    out.append("## Results\n")
    out.append("| case | metric | median | spread (min-max) | baseline | baseline median | ratio | target | met |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    notes = []
    for r in rows:
        med = statistics.median(r["samples"])
        bmed = statistics.median(r["baseline"]) if r["baseline"] else None
        ratio = med / bmed if bmed else None
        met = "?"
        if r["ratio"] not in ("-", ""):
            if r["ratio"].startswith(">="):
                met = "yes" if ratio is not None and ratio >= float(r["ratio"][2:]) else "no"
            else:
                met = "yes" if ratio is not None and ratio <= float(r["ratio"]) else "no"
        elif r["note"].startswith("absolute target: median <= "):
            limit = float(r["note"].split("<= ")[1].split()[0])
            met = "yes" if med <= limit else "no"
            explanation = r["note"].split(";", 1)[1].strip() if ";" in r["note"] else ""
            if explanation:
                notes.append(f"- {r['case']}: {explanation}")
        unit = r["unit"]
        out.append(
            f"| {r['case']} | {r['metric']} | {fmt(med)} {unit} | {fmt(min(r['samples']))}-{fmt(max(r['samples']))} | "
            f"{r['baseline_name']} | {fmt(bmed) + ' ' + unit if bmed else '-'} | "
            f"{fmt(ratio) if ratio is not None else '-'} | {r['target']} | {met} |")
        if r["note"] and not r["note"].startswith("absolute target"):
            notes.append(f"- {r['case']}: {r['note']}")
    if notes:
        out.append("\n## Notes\n")
        out.extend(notes)
    out.append("\n## How to reproduce\n")
    out.append("```sh\nbench/run            # every case\nbench/run bench/cases/reap_parallel.sh   # one case\n```")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
