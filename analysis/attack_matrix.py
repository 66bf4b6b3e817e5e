#!/usr/bin/env python3
"""Attack x defense x fraction table of a `ledgerfl sweep` over scenarios/attacks/matrix.toml.

Reads DIR/index.csv (point, overrides, file, exit_code, ...) written by

    build/ledgerfl sweep scenarios/attacks/matrix.toml \\
        --grid 'attack[0].type=sign_flip,alie' --grid aggregator.type=fedavg,krum \\
        --grid 'attack[0].fraction=0.1,0.2' --grid simulation.seed=1,2,3,4,5 -j 2 -o runs/matrix

and groups the points by their overrides without `simulation.seed` (so the seeds of one cell are
pooled). Per run file:
  final test accuracy      last non-NaN /rounds/test_accuracy
  attack success rate      last non-NaN /rounds/attack_success_rate (NaN: the attack has no
                           success set, e.g. the model-poisoning attacks)
  detection tpr / fpr      mean over the rounds with a value of /rounds/detection_tpr / _fpr
  inclusion                sum of /rounds/malicious_included over sum of malicious_submitted
Per cell: mean ± sample std (ddof = 1) over the seeds; NaN values are left out of a cell's mean
and the count of runs that had a value is printed as n.

Prints one long table and, per fraction, an accuracy pivot (attack rows, defense columns);
--md FILE writes both as markdown, --csv FILE the long table as CSV.
Usage: attack_matrix.py [DIR | DIR/index.csv] [--md FILE] [--csv FILE] [--no-verify]
Exit codes: 0 every point ran, 1 a point failed or a file is missing/unreadable, 2 bad input.
"""
import argparse
import csv
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ledgerfl_h5  # noqa: E402  (after the path tweak)
import numpy as np  # noqa: E402

ATTACK_KEY = re.compile(r"^attack\[0\]\.type$")
FRACTION_KEY = re.compile(r"^attack\[0\]\.fraction$")
DEFENSE_KEY = "aggregator.type"
SEED_KEYS = ("simulation.seed",)
METRICS = ("final_test_accuracy", "attack_success_rate", "detection_tpr", "detection_fpr",
           "inclusion")


def parse_overrides(text):
    """'a.b=1 c=x' -> [('a.b', '1'), ('c', 'x')] (values have no spaces in a sweep's index)."""
    out = []
    for tok in text.split():
        if "=" not in tok:
            raise ValueError(f"override '{tok}' has no '='")
        k, v = tok.split("=", 1)
        out.append((k, v))
    return out


def last_valid(v):
    v = v[~np.isnan(v)]
    return float(v[-1]) if v.size else math.nan


def mean_valid(v):
    v = v[~np.isnan(v)]
    return float(np.mean(v)) if v.size else math.nan


def run_values(path, check):
    """The per-run figures of one run file (see the module docstring)."""
    f = ledgerfl_h5.open_run(path, check=check)
    try:
        have = set(ledgerfl_h5.round_metrics(f))

        def col(name):
            if name not in have:
                return np.array([math.nan])
            return ledgerfl_h5.read_metric(f, name)

        sub, inc = col("malicious_submitted"), col("malicious_included")
        s = float(np.nansum(sub)) if not np.all(np.isnan(sub)) else math.nan
        i = float(np.nansum(inc)) if not np.all(np.isnan(inc)) else math.nan
        return {
            "final_test_accuracy": last_valid(col("test_accuracy")),
            "attack_success_rate": last_valid(col("attack_success_rate")),
            "detection_tpr": mean_valid(col("detection_tpr")),
            "detection_fpr": mean_valid(col("detection_fpr")),
            "inclusion": i / s if s and s > 0 else math.nan,
        }
    finally:
        f.close()


def summarize(values):
    """(mean, std, n) over the non-NaN values; std is the sample std (0 for one value)."""
    v = np.array([x for x in values if not math.isnan(x)], dtype=float)
    if v.size == 0:
        return math.nan, math.nan, 0
    return float(np.mean(v)), float(np.std(v, ddof=1)) if v.size > 1 else 0.0, int(v.size)


def fmt(m, s, n, digits=3):
    if n == 0:
        return "-"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def load(index_path, check):
    """Cells keyed by (attack, fraction, defense, other overrides) -> list of per-run dicts."""
    base = os.path.dirname(os.path.abspath(index_path))
    cells, order, failed = {}, [], []
    with open(index_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"overrides", "file", "exit_code"} <= set(rows[0]):
        raise ValueError(f"{index_path}: not a sweep index (needs overrides, file, exit_code)")
    for row in rows:
        sets = parse_overrides(row["overrides"])
        attack = next((v for k, v in sets if ATTACK_KEY.match(k)), "(scenario)")
        fraction = next((v for k, v in sets if FRACTION_KEY.match(k)), "(scenario)")
        defense = next((v for k, v in sets if k == DEFENSE_KEY), "(scenario)")
        other = " ".join(f"{k}={v}" for k, v in sets
                         if not (ATTACK_KEY.match(k) or FRACTION_KEY.match(k) or k == DEFENSE_KEY
                                 or k in SEED_KEYS))
        key = (attack, fraction, defense, other)
        if key not in cells:
            cells[key] = []
            order.append(key)
        path = row["file"]
        if not os.path.isabs(path) and not os.path.exists(path):
            path = os.path.join(base, os.path.basename(path))
        if row["exit_code"].strip() != "0":
            failed.append(f"{row['overrides']}: exit {row['exit_code']}")
            continue
        try:
            cells[key].append(run_values(path, check))
        except (ledgerfl_h5.RunFileError, OSError, KeyError) as err:
            failed.append(f"{row['overrides']}: {err}")
    return cells, order, failed


def first_seen(seq):
    out = []
    for x in seq:
        if x not in out:
            out.append(x)
    return out


def tables(cells, order):
    """(long rows as dicts, markdown text)."""
    rows = []
    for key in order:
        attack, fraction, defense, other = key
        runs = cells[key]
        r = {"attack": attack, "fraction": fraction, "defense": defense, "other": other,
             "runs": len(runs)}
        for m in METRICS:
            r[m + "_mean"], r[m + "_std"], r[m + "_n"] = summarize([x[m] for x in runs])
        rows.append(r)
    show_other = any(r["other"] for r in rows)
    head = ["attack", "fraction", "defense"] + (["other"] if show_other else []) + [
        "runs", "final test accuracy", "attack success", "detection TPR", "detection FPR",
        "malicious included"]
    md = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    attacks = first_seen(k[0] for k in order)
    defenses = first_seen(k[2] for k in order)
    fractions = sorted(first_seen(k[1] for k in order))
    for r in sorted(rows, key=lambda r: (attacks.index(r["attack"]), fractions.index(r["fraction"]),
                                         defenses.index(r["defense"]), r["other"])):
        cells_txt = [fmt(r[m + "_mean"], r[m + "_std"], r[m + "_n"]) for m in METRICS]
        md.append("| " + " | ".join([r["attack"], r["fraction"], r["defense"]] +
                                    ([r["other"]] if show_other else []) + [str(r["runs"])] +
                                    cells_txt) + " |")
    text = "\n".join(md) + "\n"
    # Accuracy pivots: one per (fraction, other).
    for fraction, other in sorted(first_seen((k[1], k[3]) for k in order)):
        text += (f"\nFinal test accuracy (mean ± std over seeds), fraction {fraction}"
                 + (f", {other}" if other else "") + "\n\n")
        text += "| attack \\ defense | " + " | ".join(defenses) + " |\n"
        text += "|" + " --- |" * (len(defenses) + 1) + "\n"
        for a in attacks:
            line = []
            for d in defenses:
                r = next((r for r in rows if (r["attack"], r["fraction"], r["defense"],
                                              r["other"]) == (a, fraction, d, other)), None)
                line.append(fmt(r["final_test_accuracy_mean"], r["final_test_accuracy_std"],
                                r["final_test_accuracy_n"]) if r else "")
            text += f"| {a} | " + " | ".join(line) + " |\n"
    return rows, text


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("where", nargs="?", default="runs/matrix",
                    help="the sweep's output directory or its index.csv")
    ap.add_argument("--md", default=None, help="write the tables as markdown to this file")
    ap.add_argument("--csv", default=None, help="write the long table as CSV to this file")
    ap.add_argument("--no-verify", action="store_true",
                    help="skip `ledgerfl audit` of each run file before reading it")
    a = ap.parse_args()
    index = a.where if a.where.endswith(".csv") else os.path.join(a.where, "index.csv")
    if not os.path.isfile(index):
        print(f"error: {index}: no such file (run `ledgerfl sweep ... -o DIR` first)",
              file=sys.stderr)
        return 2
    try:
        cells, order, failed = load(index, check=not a.no_verify)
    except (ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows, text = tables(cells, order)
    print(text, end="")
    if a.md:
        with open(a.md, "w") as fh:
            fh.write(text)
    if a.csv:
        cols = ["attack", "fraction", "defense", "other", "runs"] + [
            f"{m}_{s}" for m in METRICS for s in ("mean", "std", "n")]
        with open(a.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow({c: r[c] for c in cols})
    for f in failed:
        print(f"attack_matrix: failed point: {f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
