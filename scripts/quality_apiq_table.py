#!/usr/bin/env python3
"""Markdown rows of the ApiQ section of docs/QUALITY.md from the JSON reports scripts/quality_apiq.sh wrote:
per setting and method, mean and sample standard deviation over seeds, every seed's KL, and for the
saliency variants the paired KL difference to ApiQ of the same seed."""
import json
import pathlib
import statistics
import sys

LABELS = {"rtn": "RTN", "gptq": "GPTQ", "apiq": "ApiQ", "apiqsal-after": "ApiQ + saliency reg. (after LoRA)",
          "apiqsal-before": "ApiQ + saliency reg. (before LoRA)"}
SETTINGS = {"w2": "2 bits, group 64", "b25": "2.5 bpw budget"}


def fmt(values, digits):
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def total_seconds(report):
    s = report["seconds"]  # reports of older builds hold the total only
    return s["total"] if isinstance(s, dict) else s


def paired(runs, apiq):
    diffs = [r["eval"]["mean_kl"] - apiq[r["seed_name"]] for r in runs if r["seed_name"] in apiq]
    if not diffs:
        return ""
    return f"{fmt(diffs, 3)} ({', '.join('%+.3f' % d for d in diffs)})"


def main():
    out = pathlib.Path(sys.argv[1])
    groups = {}
    for path in sorted(out.glob("*.json")):
        setting, method = path.stem.split("_")[:2]
        report = json.loads(path.read_text())
        report["seed_name"] = path.stem.split("_")[2] if path.stem.count("_") >= 2 else ""
        groups.setdefault((setting, method), []).append(report)
    for setting, title in SETTINGS.items():
        print(f"\n**{title}**\n")
        print("| method | seeds | linear bpw | mean KL to fp32 | top-1 agreement % | perplexity | time (s) | KL per seed "
              "| KL - ApiQ's, paired by seed |")
        print("|---|---|---|---|---|---|---|---|---|")
        apiq = {r["seed_name"]: r["eval"]["mean_kl"] for r in groups.get((setting, "apiq"), [])}
        for method, label in LABELS.items():
            runs = groups.get((setting, method))
            if not runs:
                continue
            ev = [r["eval"] for r in runs]
            print(f"| {label} | {len(runs)} | {fmt([r['linear_bpw'] for r in runs], 3)} "
                  f"| {fmt([e['mean_kl'] for e in ev], 3)} | {fmt([100 * e['top1_agreement'] for e in ev], 2)} "
                  f"| {fmt([e['perplexity'] for e in ev], 0)} | {fmt([total_seconds(r) for r in runs], 0)} "
                  f"| {', '.join('%.3f' % e['mean_kl'] for e in ev)} | {paired(runs, apiq) if 'sal' in method else ''} |")
    ref = next(iter(groups.values()))[0]["eval"]["reference_perplexity"] if groups else None
    if ref:
        print(f"\nfp32 perplexity on the same windows: {ref:.2f}")


if __name__ == "__main__":
    main()
