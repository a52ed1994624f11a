#!/usr/bin/env python3
"""Renders the kernel benchmark's JSON output (bitlens_bench --benchmark_out=FILE
--benchmark_out_format=json) as the Markdown tables of docs/PERFORMANCE.md. Ratios to the read
bandwidth use the best bandwidth of the whole run (the last line bitlens_bench prints), given as
--bandwidth GBPS; without it, the bandwidth measured at start-up."""
import argparse
import json
import re


def load(path):
    with open(path) as f:
        data = json.load(f)
    return data["context"], data["benchmarks"]


def by_prefix(benchmarks, prefix):
    return [b for b in benchmarks if b["name"].startswith(prefix)]


def clean(name):
    return re.sub(r"/iterations:1/manual_time$", "", name)


def fmt(v, digits=2):
    return f"{v:.{digits}f}"


def matmul_table(benchmarks, batch, bandwidth):
    rows = by_prefix(benchmarks, "matmul/")
    rows = [b for b in rows if f"/batch{batch}/" in b["name"] + "/"]
    out = ["| shape | format | bpw | time (us) | GB/s | of read bandwidth | GFLOP/s | vs C++ loop | CPU ms/call |",
           "|---|---|---|---|---|---|---|---|---|"]
    for b in rows:
        _, what, shape, fmt_name, _ = clean(b["name"]).split("/")
        out.append(f"| {what} {shape} | {fmt_name} | {fmt(b['bpw'])} | {fmt(b['real_time'], 0)} | {fmt(b['GB/s'])} | "
                   f"{100 * b['GB/s'] / bandwidth:.1f}% | {fmt(b['GFLOP/s'], 1)} | {fmt(b['vs_cpu'], 1)}x | "
                   f"{fmt(b['cpu_ms'], 3)} |")
    return "\n".join(out)


def split_table(benchmarks, prefix, bandwidth):
    out = ["| variant | time (us) | GB/s | of read bandwidth | GFLOP/s | CPU ms/call |", "|---|---|---|---|---|---|"]
    for b in by_prefix(benchmarks, prefix):
        out.append(f"| {clean(b['name'])[len(prefix):]} | {fmt(b['real_time'], 0)} | {fmt(b['GB/s'])} | "
                   f"{100 * b['GB/s'] / bandwidth:.1f}% | {fmt(b['GFLOP/s'], 1)} | {fmt(b['cpu_ms'], 3)} |")
    return "\n".join(out)


def rotate_table(benchmarks):
    out = ["| rows x width, direction, kernel | time (us) | GB/s (read+write) | copy kernel GB/s | vs copy kernel | "
           "vkCmdCopyBuffer GB/s | CPU ms/call | copy CPU ms/call |",
           "|---|---|---|---|---|---|---|---|"]
    for b in by_prefix(benchmarks, "rotate/"):
        _, n, rows, direction, kernel = clean(b["name"]).split("/")
        kernel = ("registers" if b["row_kernel"] else "shared memory") + f" ({kernel.replace('_', ' ')})"
        out.append(f"| {rows[4:]} x {n}, {direction}, {kernel} | {fmt(b['real_time'], 0)} | {fmt(b['GB/s'])} | "
                   f"{fmt(b['copy_GB/s'])} | {100 * b['vs_copy']:.0f}% | {fmt(b['cmdcopy_GB/s'])} | "
                   f"{fmt(b['cpu_ms'], 3)} | {fmt(b['copy_cpu_ms'], 3)} |")
    return "\n".join(out)


def bandwidth_table(benchmarks):
    out = ["| pattern | GB/s |", "|---|---|"]
    for b in by_prefix(benchmarks, "bandwidth/"):
        out.append(f"| {clean(b['name'])[len('bandwidth/'):]} | {fmt(b['GB/s'])} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("json")
    ap.add_argument("--bandwidth", type=float, help="best read bandwidth of the run, GB/s")
    args = ap.parse_args()
    context, benchmarks = load(args.json)
    bandwidth = args.bandwidth or float(context["device read bandwidth at start"].split()[0])
    print(f"Device: {context['device']}  \nRead bandwidth (best of the run): {bandwidth:.2f} GB/s  \n"
          f"Host: {context.get('num_cpus')} CPUs, {context.get('mhz_per_cpu')} MHz; C++ loop threads: "
          f"{context.get('cpu threads')}; run {context.get('date')}\n")
    print("### Mat-vec, batch 1\n")
    print(matmul_table(benchmarks, 1, bandwidth))
    print("\n### Mat-mul, batch 64\n")
    print(matmul_table(benchmarks, 64, bandwidth))
    print("\n### Rotation\n")
    print(rotate_table(benchmarks))
    print("\n### Mat-vec work splits, 4096x4096, batch 1\n")
    print(split_table(benchmarks, "matvec_split/4096x4096/", bandwidth))
    print("\n### Mat-mul work splits, 4096x4096, batch 64\n")
    print(split_table(benchmarks, "matmul_split/4096x4096/", bandwidth))
    print("\n### Read-bandwidth probe patterns\n")
    print(bandwidth_table(benchmarks))


if __name__ == "__main__":
    main()
