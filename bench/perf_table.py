#!/usr/bin/env python3
"""Renders the kernel benchmarks' JSON output (bitlens_bench --benchmark_out=FILE
--benchmark_out_format=json; one or more runs) as the Markdown tables of docs/PERFORMANCE.md.
The fraction of read bandwidth is each benchmark's own bw_frac: its GB/s over the device's read
bandwidth re-measured in the same run just before it (the best so far in that run)."""
import argparse
import json
import re


def load(path):
    if path.endswith(".txt"):
        return load_console(path)
    with open(path) as f:
        data = json.load(f)
    return data["context"], [b for b in data["benchmarks"] if b.get("run_type", "iteration") == "iteration"]


def number(text):
    scale = {"k": 1e3, "M": 1e6, "m": 1e-3, "u": 1e-6, "n": 1e-9}
    return float(text[:-1]) * scale[text[-1]] if text[-1] in scale else float(text)


def load_console(path):
    """The console output of a run (--benchmark_counters_tabular=true), complete or cut short."""
    context, benchmarks, header = {"load_avg": []}, [], None
    keys = {"device": "device", "device read bandwidth at start": "device read bandwidth at start",
            "bandwidth pattern": "bandwidth pattern", "cpu threads": "cpu threads"}
    with open(path) as f:
        lines = f.read().splitlines()
    context["date"] = lines[0] if lines else ""
    for line in lines:
        m = re.match(r"Run on \((\d+) X ([\d.]+) MHz", line)
        if m:
            context["num_cpus"], context["mhz_per_cpu"] = int(m.group(1)), round(float(m.group(2)))
        if line.startswith("Load Average:"):
            context["load_avg"] = [float(v) for v in line.split(":")[1].split(",")]
        key = line.split(":")[0]
        if key in keys and key not in context:
            context[keys[key]] = line.split(": ", 1)[1]
        if line.startswith("Benchmark "):
            header = line.split()[4:]  # after Benchmark, Time, CPU, Iterations
        elif header and "/manual_time" in line:
            f = line.split()
            b = {"name": f[0], "real_time": float(f[1])}
            b.update({k: number(v) for k, v in zip(header, f[6:])})
            benchmarks.append(b)
    return context, benchmarks


def by_prefix(benchmarks, prefix):
    return [b for b in benchmarks if b["name"].startswith(prefix)]


def clean(name):
    return re.sub(r"/iterations:1/manual_time$", "", name)


def fmt(v, digits=2):
    return f"{v:.{digits}f}"


def matmul_table(benchmarks, batch):
    rows = by_prefix(benchmarks, "matmul/")
    rows = [b for b in rows if f"/batch{batch}/" in b["name"] + "/"]
    out = ["| shape | format | bpw | time (us) | GB/s | of read bandwidth | GFLOP/s | vs C++ loop | CPU ms/call |",
           "|---|---|---|---|---|---|---|---|---|"]
    for b in rows:
        _, what, shape, fmt_name, _ = clean(b["name"]).split("/")
        out.append(f"| {what} {shape} | {fmt_name} | {fmt(b['bpw'])} | {fmt(b['real_time'], 0)} | {fmt(b['GB/s'])} | "
                   f"{100 * b['bw_frac']:.1f}% | {fmt(b['GFLOP/s'], 1)} | {fmt(b['vs_cpu'], 2)}x | "
                   f"{fmt(b['cpu_ms'], 3)} |")
    return "\n".join(out)


def split_table(benchmarks, prefix):
    out = ["| variant | time (us) | GB/s | of read bandwidth | GFLOP/s | CPU ms/call |", "|---|---|---|---|---|---|"]
    for b in by_prefix(benchmarks, prefix):
        out.append(f"| {clean(b['name'])[len(prefix):]} | {fmt(b['real_time'], 0)} | {fmt(b['GB/s'])} | "
                   f"{100 * b['bw_frac']:.1f}% | {fmt(b['GFLOP/s'], 1)} | {fmt(b['cpu_ms'], 3)} |")
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


def section(title, table):
    if table.count("\n") > 1:
        print(f"\n### {title}\n")
        print(table)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("json", nargs="+", help="benchmark JSON files, one per run")
    args = ap.parse_args()
    benchmarks = []
    for path in args.json:
        context, runs = load(path)
        benchmarks += runs
        print(f"- `{path}`: {context['device']}; read bandwidth at start "
              f"{context['device read bandwidth at start']} ({context['bandwidth pattern']}); "
              f"{context.get('num_cpus')} CPUs at {context.get('mhz_per_cpu')} MHz, load average "
              f"{', '.join(f'{v:.1f}' for v in context.get('load_avg', []))}; C++ loop threads "
              f"{context.get('cpu threads')}; {context.get('date')}")
    section("Mat-vec, batch 1", matmul_table(benchmarks, 1))
    section("Mat-mul, batch 64", matmul_table(benchmarks, 64))
    section("Rotation", rotate_table(benchmarks))
    section("Mat-vec work splits, 4096x4096, batch 1", split_table(benchmarks, "matvec_split/4096x4096/"))
    section("Mat-mul work splits, 4096x4096, batch 64", split_table(benchmarks, "matmul_split/4096x4096/"))
    section("Read-bandwidth probe patterns", bandwidth_table(benchmarks))


if __name__ == "__main__":
    main()
