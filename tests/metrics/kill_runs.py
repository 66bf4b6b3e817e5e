#!/usr/bin/python3
"""Kill test: SIGKILL a run at seeded random moments; every file must be intact up to its last commit.

For each kill: `ledgerfl audit` passes (digest chain and ledger over the committed rows),
`ledgerfl check` of the file against itself passes (when it holds a round), every committed row of
every dataset equals the same row of an uninterrupted reference run (the file is a prefix of
the reference), and `audit --expect REFERENCE_DIGEST` fails (exit 1) on a killed file: a result
cut short by whole flushes is detected against a published digest.

usage: kill_runs.py LEDGERFL SCENARIO WORKDIR [--kills 20] [--seed 1] [--set key=value ...]
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
from ledgerfl_h5 import committed_rows  # noqa: E402


def run(cmd, timeout=300):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def digest_of(audit_out):
    for line in audit_out.splitlines():
        if line.startswith("digest "):
            return line.split()[1]
    return None


def datasets(f):
    out = []
    f.visititems(lambda name, obj: out.append("/" + name) if isinstance(obj, h5py.Dataset) else None)
    return [d for d in out if not d.startswith("/integrity/") and not d.startswith("/timing/")]


def same(a, b):
    if a.dtype.names is None and a.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return a.tobytes() == b.tobytes()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("scenario")
    ap.add_argument("workdir")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    base = [args.exe, "run", args.scenario, "--threads", "1", "-q", "--force"]
    for s in args.set:
        base += ["--set", s]
    ref = os.path.join(args.workdir, "reference.h5")
    t0 = time.monotonic()
    r = run(base + ["-o", ref])
    span = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"reference run failed: {r.stderr}")
    a = run([args.exe, "audit", ref])
    ref_digest = digest_of(a.stdout)
    if a.returncode != 0 or ref_digest is None:
        sys.exit(f"reference run does not pass audit: {a.stdout}{a.stderr}")
    rng = random.Random(args.seed)
    failures, intact, finished, rounds_seen = [], 0, 0, []
    with h5py.File(ref, "r") as fr:
        ref_data = {d: fr[d][:] for d in datasets(fr)}
    k, tries = 0, 0
    while k < args.kills and tries < 3 * args.kills:
        tries += 1
        out = os.path.join(args.workdir, f"killed_{tries}.h5")
        if os.path.exists(out):
            os.remove(out)
        # The delay counts from the moment the file exists (data loading comes first).
        frac = rng.random()
        p = subprocess.Popen(base + ["-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_start = time.monotonic()
        while not os.path.exists(out) and p.poll() is None:
            time.sleep(0.002)
        t_file = time.monotonic() - t_start
        delay = t_file + frac * 0.9 * max(span - t_file, 0.0)
        time.sleep(max(delay - (time.monotonic() - t_start), 0.0))
        killed = p.poll() is None
        if killed:
            os.kill(p.pid, signal.SIGKILL)
        p.wait()
        if not killed:
            finished += 1  # not a kill: try again
            continue
        k += 1
        if not os.path.exists(out):
            failures.append(f"kill {k} at {delay:.3f} s: no file")
            continue
        a = run([args.exe, "audit", out])
        problems = []
        if a.returncode != 0:
            problems.append(f"audit exit {a.returncode}: {a.stdout.strip()} {a.stderr.strip()}")
        else:
            with h5py.File(out, "r") as f:
                rows = committed_rows(f)
                n_rounds = rows.get("/timing/wall_s", 0)
                rounds_seen.append(n_rounds)
                for d in datasets(f):
                    n = rows.get(d, 0)
                    if d not in ref_data or n > len(ref_data[d]):
                        problems.append(f"{d}: {n} committed rows, reference has fewer")
                    elif not same(f[d][:n], ref_data[d][:n]):
                        problems.append(f"{d}: committed rows differ from the reference")
            if n_rounds > 0:
                c = run([args.exe, "check", out, "--golden", out])
                if c.returncode != 0:
                    problems.append(f"check against itself: exit {c.returncode}: {c.stdout}")
            e = run([args.exe, "audit", out, "--expect", ref_digest])
            if digest_of(a.stdout) != ref_digest and e.returncode != 1:
                problems.append(f"audit --expect REFERENCE: exit {e.returncode}, expected 1")
        if problems:
            failures.append(f"kill {k} at {delay:.3f} s: " + "; ".join(problems))
        else:
            intact += 1
            os.remove(out)
    print(
        f"{args.scenario}: {k} kills (reference {span:.2f} s; {finished} more runs finished "
        f"before their kill), {intact} files intact; committed rounds per kill: {rounds_seen}"
    )
    for f in failures:
        print("FAIL " + f)
    return 1 if failures or k < args.kills else 0


if __name__ == "__main__":
    sys.exit(main())
