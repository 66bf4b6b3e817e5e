#!/usr/bin/env python3
"""Self-test of analysis/attack_matrix.py on hand-made run files (no simulator needed).

Two cells (sign_flip x krum and sign_flip x fedavg) of two seeds each, written with h5py in the
/rounds layout, plus one failed point: the script must pool the seeds of a cell, skip NaN rows
(last non-NaN accuracy, mean of the non-NaN detection rows), give the sample std, report the
failed point and exit 1. Usage: attack_matrix_selftest.py ROOT WORKDIR
"""
import csv
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

NAN = math.nan


def write_run(path, acc, tpr, fpr, sub, inc):
    with h5py.File(path, "w") as h:
        g = h.create_group("rounds")
        g["round"] = np.arange(1, len(acc) + 1, dtype=np.int64)
        g["test_accuracy"] = np.array(acc, dtype=float)
        g["attack_success_rate"] = np.full(len(acc), NAN)
        g["detection_tpr"] = np.array(tpr, dtype=float)
        g["detection_fpr"] = np.array(fpr, dtype=float)
        g["malicious_submitted"] = np.array(sub, dtype=np.int64)
        g["malicious_included"] = np.array(inc, dtype=np.int64)


def main():
    root, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # krum seed 1: final acc 0.7 (the NaN last row is skipped), tpr mean (1 + 0.5) / 2
    write_run(f"{work}/k1.h5", [0.5, 0.7, NAN], [1.0, NAN, 0.5], [0.0, 0.2, NAN], [2, 0, 2],
              [0, 0, 1])
    write_run(f"{work}/k2.h5", [0.6, 0.8, 0.9], [0.0, 0.0, 0.0], [0.1, 0.1, 0.1], [1, 1, 2],
              [1, 1, 2])
    write_run(f"{work}/f1.h5", [0.1, 0.2, 0.3], [NAN] * 3, [NAN] * 3, [1, 1, 1], [1, 1, 1])
    write_run(f"{work}/f2.h5", [0.1, 0.2, 0.5], [NAN] * 3, [NAN] * 3, [1, 1, 1], [1, 1, 1])
    rows = [
        ("attack[0].type=sign_flip aggregator.type=krum simulation.seed=1", "k1.h5", 0),
        ("attack[0].type=sign_flip aggregator.type=krum simulation.seed=2", "k2.h5", 0),
        ("attack[0].type=sign_flip aggregator.type=fedavg simulation.seed=1", "f1.h5", 0),
        ("attack[0].type=sign_flip aggregator.type=fedavg simulation.seed=2", "f2.h5", 0),
        ("attack[0].type=sign_flip aggregator.type=fedavg simulation.seed=3", "f3.h5", 1),
    ]
    with open(f"{work}/index.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["point", "overrides", "file", "exit_code", "final_test_accuracy",
                    "sim_time_s"])
        for i, (o, f, rc) in enumerate(rows):
            w.writerow([i, o, os.path.join(work, f), rc, "", ""])
    p = subprocess.run([sys.executable, os.path.join(root, "analysis", "attack_matrix.py"), work,
                        "--no-verify", "--csv", f"{work}/out.csv", "--md", f"{work}/out.md"],
                       capture_output=True, text=True)
    fails = []

    def check(cond, what):
        if not cond:
            fails.append(what)

    check(p.returncode == 1, f"exit code {p.returncode} (expected 1: one failed point)")
    check("simulation.seed=3: exit 1" in p.stderr, f"failed point not reported: {p.stderr!r}")
    with open(f"{work}/out.csv") as fh:
        got = {(r["attack"], r["defense"]): r for r in csv.DictReader(fh)}
    check(set(got) == {("sign_flip", "krum"), ("sign_flip", "fedavg")}, f"cells {sorted(got)}")
    k, f = got.get(("sign_flip", "krum")), got.get(("sign_flip", "fedavg"))
    if k and f:
        near = lambda a, b: abs(float(a) - b) < 1e-12  # noqa: E731
        check(near(k["final_test_accuracy_mean"], 0.8), f"krum acc {k['final_test_accuracy_mean']}")
        check(near(k["final_test_accuracy_std"], math.sqrt(0.02)), "krum acc std")
        check(near(k["detection_tpr_mean"], 0.375), f"krum tpr {k['detection_tpr_mean']}")
        check(near(k["detection_fpr_mean"], 0.1), f"krum fpr {k['detection_fpr_mean']}")
        # inclusion: seed 1 1/4, seed 2 4/4
        check(near(k["inclusion_mean"], 0.625), f"krum inclusion {k['inclusion_mean']}")
        check(k["attack_success_rate_n"] == "0", "model poisoning has no success rate")
        check(f["runs"] == "2", f"fedavg runs {f['runs']} (the failed point is not a run)")
        check(near(f["final_test_accuracy_mean"], 0.4), "fedavg acc")
        check(f["detection_tpr_n"] == "0", "fedavg has no detection rows")
    md = open(f"{work}/out.md").read()
    check("| attack \\ defense | krum | fedavg |" in md
          and "| sign_flip | 0.800 ± 0.141 | 0.400 ± 0.141 |" in md, f"pivot missing:\n{md}")
    for x in fails:
        print(f"attack_matrix_selftest: FAIL: {x}", file=sys.stderr)
    print(p.stdout)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
