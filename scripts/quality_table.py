#!/usr/bin/env python3
"""Builds the quality table of docs/QUALITY.md from the JSON reports of scripts/quality_table.sh.

Usage: quality_table.py OUT WINDOWS [DOC]. Writes OUT/table.md and, when DOC holds the markers
<!-- quality-table:begin --> and <!-- quality-table:end -->, replaces the text between them.
"""
import json
import os
import sys

BUDGETS = ["~1.6", "~2", "~2.5", "~3", "~4"]

# (id, method row of the summary, budget column, spec shown in the detail table)
ROWS = [("float", "fp32 linears", None, "float f32")]
for bits, group, budget in [(2, 128, "~2"), (2, 64, "~2.5"), (3, 128, "~3"), (4, 128, "~4")]:
    spec = f"q{bits} g{group}"
    ROWS += [
        (f"rtn-q{bits}-g{group}", "RTN", budget, spec),
        (f"clip-q{bits}-g{group}", "clip", budget, spec),
        (f"gptq-q{bits}-g{group}", "GPTQ", budget, spec),
        (f"rtn-rot-q{bits}-g{group}", "RTN + rotation", budget, spec + " rot=both"),
        (f"gptq-rot-q{bits}-g{group}", "GPTQ + rotation", budget, spec + " rot=both"),
        (f"gptq-clip-q{bits}-g{group}", "GPTQ, clipped ranges", budget, spec),
        (f"gptq-clip-rot-q{bits}-g{group}", "GPTQ, clipped ranges + rotation", budget, spec + " rot=both"),
    ]
ROWS += [
    ("slim-b2-g128", "SliM-LLM", "~2", "mean 2 bits g128"),
    ("slim-b2-g64", "SliM-LLM", "~2.5", "mean 2 bits g64"),
    ("slim-b3-g128", "SliM-LLM", "~3", "mean 3 bits g128"),
    ("ptq161-s0.1", "PTQ1.61", "~1.6", "10% salient columns"),
    ("ptq161-s0.2", "PTQ1.61", "~2", "20% salient columns"),
    ("ternary-g128", "ternary", "~1.6", "g128"),
    ("ternary-g64", "ternary", "~2", "g64"),
    ("tritplane-g128", "trit-planes", "~3", "g128"),
]
ALLOCATIONS = [("fisher", "all", "budgeted allocation (Fisher, all methods)"),
               ("fisher", "gptq", "budgeted allocation (Fisher, GPTQ)"),
               ("output", "gptq", "budgeted allocation (output error, GPTQ)")]
ROWS += [(f"alloc-{o}-{c}-{b}", name, f"~{b}", f"target {b} bpw") for o, c, name in ALLOCATIONS
         for b in ["1.6", "2", "2.5", "3", "4"]]

NA = {
    "RTN": {"~1.6": "a"},
    "clip": {"~1.6": "a"},
    "GPTQ": {"~1.6": "a"},
    "RTN + rotation": {"~1.6": "a"},
    "GPTQ + rotation": {"~1.6": "a"},
    "GPTQ, clipped ranges": {"~1.6": "a"},
    "GPTQ, clipped ranges + rotation": {"~1.6": "a"},
    "SliM-LLM": {"~1.6": "b", "~4": "b"},
    "PTQ1.61": {"~2.5": "c", "~3": "c", "~4": "c"},
    "ternary": {"~2.5": "d", "~3": "d", "~4": "d"},
    "trit-planes": {"~1.6": "e", "~2": "e", "~2.5": "e", "~4": "e"},
    "budgeted allocation (Fisher, all methods)": {"~1.6": "g"},
    "budgeted allocation (Fisher, GPTQ)": {"~1.6": "f", "~2": "f"},
    "budgeted allocation (output error, GPTQ)": {"~1.6": "f", "~2": "f"},
}
NA_NOTES = {
    "a": "the narrowest uniform format is 2 bits, 2.3 bpw with its scales and offsets",
    "b": "SliM-LLM's mean width is 2 or 3 bits (its groups use N-1, N, N+1 bits)",
    "c": "PTQ1.61 is a 1-bit format with 4-bit salient columns, 1.5-2 bpw",
    "d": "ternary is one trit plane, 1.75-1.9 bpw",
    "e": "trit-planes are two trit planes, 3.5 bpw at g128",
    "f": "with the GPTQ candidates the smallest choice is 2.31 bpw and `quantize` refuses the budget",
    "g": "the smallest candidates of this model's 288- and 768-wide rows (ternary, PTQ1.61) take 1.86-1.91 bpw",
}
METHOD_ORDER = ["RTN", "clip", "GPTQ", "RTN + rotation", "GPTQ + rotation", "GPTQ, clipped ranges",
                "GPTQ, clipped ranges + rotation", "SliM-LLM", "PTQ1.61", "ternary",
                "trit-planes"] + [name for _, _, name in ALLOCATIONS]


def load(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def results(out):
    rows = []
    for rid, method, budget, spec in ROWS:
        q, md, ho = load(out, rid + ".q.json"), load(out, rid + ".md.json"), load(out, rid + ".ho.json")
        if not (q and md):
            continue
        s = q["seconds"]
        rows.append({"id": rid, "method": method, "budget": budget, "spec": spec, "linear_bpw": q["linear_bpw"],
                     "model_bpw": q["model_bpw"], "bytes": q["stored_bytes"], "kl": md["mean_kl"],
                     "top1": md["top1_agreement"], "ppl": ho["perplexity"] if ho else None, "md_ppl": md["perplexity"],
                     "seconds": s["recipe"] + s["quantization"], "calib_seconds": s["calibration"]})
    return rows


def fmt_ppl(v, fmt):
    return "pending" if v is None else format(v, fmt)


def detail_table(rows, fp32_ppl, md_ppl):
    lines = ["| budget | method | spec | linear bpw | model bpw | file MB | mean KL | top-1 | held-out ppl | "
             "Moby Dick ppl | quantize s |",
             "|---|---|---|---|---|---|---|---|---|---|---|",
             f"| - | fp32 | original | 32 | 32 | 60.8 | 0 | 100% | {fp32_ppl:.3f} | {md_ppl:.2f} | - |"]
    order = {b: i for i, b in enumerate([None] + BUDGETS)}
    for r in sorted(rows, key=lambda r: (order[r["budget"]], METHOD_ORDER.index(r["method"])
                                         if r["method"] in METHOD_ORDER else -1)):
        lines.append(f"| {r['budget'] or '-'} | {r['method']} | {r['spec']} | {r['linear_bpw']:.3f} | "
                     f"{r['model_bpw']:.3f} | {r['bytes'] / 1e6:.2f} | {r['kl']:.4f} | {100 * r['top1']:.1f}% | "
                     f"{fmt_ppl(r['ppl'], '.3f')} | {r['md_ppl']:.2f} | {r['seconds']:.1f} |")
    return lines


def summary_table(rows, key, fmt):
    lines = ["| method | " + " | ".join(b + " bpw" for b in BUDGETS) + " |", "|---" * (len(BUDGETS) + 1) + "|"]
    for method in METHOD_ORDER:
        cells = []
        for b in BUDGETS:
            hits = [r for r in rows if r["method"] == method and r["budget"] == b]
            if hits:
                cells.append(f"{fmt_ppl(hits[0][key], fmt)} ({hits[0]['linear_bpw']:.2f})")
            elif b in NA.get(method, {}):
                cells.append(f"n/a ({NA[method][b]})")
            else:
                cells.append("not run")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def main():
    out, windows = sys.argv[1], int(sys.argv[2])
    doc = sys.argv[3] if len(sys.argv) > 3 else None
    rows = results(out)
    held = load(out, "fp32_heldout.json")
    md_ppl = rows[0]["md_ppl"] if rows else 0.0
    md_ref = load(out, rows[0]["id"] + ".md.json")["reference_perplexity"] if rows else 0.0
    calib = sorted(r["calib_seconds"] for r in rows)
    fp32_ppl = held["perplexity"] if held else 0.0
    text = [f"Mean KL divergence to fp32 on Moby Dick, {windows} windows (linear-layer bpw in brackets):", ""]
    text += summary_table(rows, "kl", ".3f")
    text += ["", f"Held-out perplexity (fp32: {fp32_ppl:.3f}; linear-layer bpw in brackets):", ""]
    text += summary_table(rows, "ppl", ".2f")
    text += [""] + [f"n/a ({k}): {v}." for k, v in NA_NOTES.items()]
    if "not run" in "\n".join(text):
        text.append("not run / pending: the row (or its held-out perplexity) had not finished when this table was written (scripts/quality_table.sh "
                    "resumes and fills it in).")
    text += ["", "All measurements (embedding/classifier q8 g64 in every row; the calibration capture took a median "
             f"{calib[len(calib) // 2] if calib else 0:.0f} s wall per run on the shared machine, not included in "
             "\"quantize s\"):", ""]
    text += detail_table(rows, fp32_ppl, md_ref)
    body = "\n".join(text) + "\n"
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(body)
    if doc and os.path.exists(doc):
        with open(doc) as f:
            content = f.read()
        begin, end = "<!-- quality-table:begin -->\n", "<!-- quality-table:end -->"
        if begin in content and end in content:
            head, rest = content.split(begin, 1)
            tail = rest.split(end, 1)[1]
            tmp = doc + ".tmp"
            with open(tmp, "w") as f:
                f.write(head + begin + body + end + tail)
            os.replace(tmp, doc)
    print(body, end="")


if __name__ == "__main__":
    main()
