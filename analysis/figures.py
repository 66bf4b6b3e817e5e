#!/usr/bin/env python3
"""Re-runs every figure the scenario headers and the README claim; prints claimed vs obtained.

A claim is one machine-readable comment line in a scenario's header:

    # figure: <selector> = <claimed> ± <tolerance> [| seeds A-B] [| --set k=v ...] [| fast]

and, in README.md, the same inside an HTML comment that names the scenario first:

    <!-- figure: scenarios/x.toml | <selector> = <claimed> ± <tolerance> [| ...] -->

<selector>: final:<metric> (last non-NaN value of /rounds/<metric>), mean:/max:/min:/sum:<metric>
over the /rounds rows, summary:<column> of the one-row /chain_summary table, contract:<column>
of the one-row /contract_summary table, time_to:<metric>>=<value> (or <=): /rounds/sim_time_s of
the first round whose metric reaches the value (NaN if none does, so the claim fails),
rounds_to:<metric>>=<value> (or <=): that round's /rounds/round, round<N>:<metric>: the value of
/rounds/<metric> in the row whose /rounds/round is N (e.g. round10:attack_success_rate, the ASR
when an attack with stop_round = 10 stops; NaN if the metric was not evaluated that round, and a
missing row if the run has no round N, so the claim fails), clients:<column>: the mean of a
/clients column over its rows (one per round and participant), and clients_corr:<column>: the
Pearson correlation, over the clients in /clients, of a client's participation count (its rows)
with the mean of its <column> (e.g. stake: do the stakes drive selection?). <claimed> is the
mean over the seeds (default: the scenario's own seed, one run); a claim holds when
|obtained mean - claimed| <= tolerance. Each (scenario, seeds, overrides) group runs once.

Usage: figures.py [--exe build/ledgerfl] [--fast] [--only SUBSTRING] [-j N] [--keep DIR] [ROOT]
Exit codes: 0 every claim holds, 1 a claim does not (or a run failed), 2 a malformed claim.
"""
import argparse
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np

CLAIM = re.compile(r"^(?P<sel>[a-z_]+[0-9]*:[A-Za-z0-9_]+(?:[<>]=[-+0-9.eE]+)?)\s*=\s*(?P<val>[-+0-9.eE]+)\s*(?:±|\+-)\s*"
                   r"(?P<tol>[-+0-9.eE]+)\s*$")
SEEDS = re.compile(r"^seeds\s+(\d+)\s*-\s*(\d+)$")
REDUCERS = ("final", "mean", "max", "min", "sum", "summary", "contract", "time_to", "rounds_to",
            "clients", "clients_corr")
AT_ROUND = re.compile(r"^round(?P<n>[0-9]+)$")
THRESHOLD = re.compile(r"^(?P<metric>[A-Za-z0-9_]+)(?P<op>[<>]=)(?P<value>[-+0-9.eE]+)$")


class BadClaim(Exception):
    pass


class Claim:
    def __init__(self, where, scenario, text):
        self.where, self.scenario, self.text = where, scenario, text.strip()
        parts = [p.strip() for p in self.text.split("|")]
        m = CLAIM.match(parts[0])
        if not m:
            raise BadClaim(f"{where}: expected '<selector> = <value> ± <tolerance>', got "
                           f"'{parts[0]}' (e.g. 'final:test_accuracy = 0.82 ± 0.01')")
        self.selector = m["sel"]
        reducer = self.selector.split(":")[0]
        if reducer not in REDUCERS and not AT_ROUND.match(reducer):
            raise BadClaim(f"{where}: unknown reducer '{reducer}' in '{self.selector}'; "
                           f"known: {', '.join(REDUCERS)}, round<N> (e.g. 'round10:test_accuracy')")
        name = self.selector.split(":", 1)[1]
        threshold = reducer in ("time_to", "rounds_to")
        if threshold != bool(THRESHOLD.match(name)):
            raise BadClaim(f"{where}: '{self.selector}': " +
                           (f"{reducer}: needs '<metric>>=<value>' or '<metric><=<value>' "
                            f"(e.g. '{reducer}:test_accuracy>=0.8')" if threshold else
                            f"only time_to: and rounds_to: take a threshold"))
        self.claimed, self.tol = float(m["val"]), float(m["tol"])
        if self.tol < 0:
            raise BadClaim(f"{where}: tolerance {self.tol} is negative")
        self.seeds, self.sets, self.fast = None, (), False
        for p in parts[1:]:
            s = SEEDS.match(p)
            if s:
                lo, hi = int(s[1]), int(s[2])
                if hi < lo:
                    raise BadClaim(f"{where}: seeds {lo}-{hi} is an empty range")
                self.seeds = tuple(range(lo, hi + 1))
            elif p.startswith("--set"):
                toks = shlex.split(p)
                if len(toks) % 2 or any(t != "--set" for t in toks[0::2]):
                    raise BadClaim(f"{where}: expected '--set key=value ...', got '{p}'")
                self.sets = tuple(toks[1::2])
            elif p == "fast":
                self.fast = True
            else:
                raise BadClaim(f"{where}: unknown part '{p}'; expected 'seeds A-B', "
                               f"'--set key=value ...' or 'fast'")

    def group(self):
        return (self.scenario, self.seeds, self.sets)


def read_claims(root):
    claims = []
    for dirpath, _, files in sorted(os.walk(os.path.join(root, "scenarios"))):
        for name in sorted(files):
            if not name.endswith(".toml"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            with open(path, encoding="utf-8") as f:
                for i, line in enumerate(f, 1):
                    m = re.match(r"^#\s*figure:\s*(.*)$", line)
                    if m:
                        claims.append(Claim(f"{rel}:{i}", rel, m[1]))
    readme = os.path.join(root, "README.md")
    if os.path.exists(readme):
        with open(readme, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                for m in re.finditer(r"<!--\s*figure:\s*([^|]+?)\s*\|\s*(.*?)\s*-->", line):
                    scen = m[1].strip()
                    if not os.path.exists(os.path.join(root, scen)):
                        raise BadClaim(f"README.md:{i}: scenario '{scen}' does not exist")
                    claims.append(Claim(f"README.md:{i}", scen, m[2]))
    return claims


def table(h, path, name):
    """Column `name` of the compound dataset /path, as float64."""
    if path not in h:
        raise KeyError(f"the run has no /{path}")
    ds = h[path]
    if name not in (ds.dtype.names or ()):
        raise KeyError(f"/{path} has no column '{name}'")
    return np.asarray(ds[name], dtype=float)


def rounds_column(h, name):
    if name not in h["rounds"]:
        raise KeyError(f"/rounds has no column '{name}'")
    return np.asarray(h["rounds"][name][()], dtype=float)


def value_of(path, selector):
    reducer, name = selector.split(":", 1)
    with h5py.File(path, "r") as h:
        if reducer == "summary":
            return float(table(h, "chain_summary", name)[0])
        if reducer == "contract":
            return float(table(h, "contract_summary", name)[0])
        if reducer in ("time_to", "rounds_to"):
            m = THRESHOLD.match(name)
            v = rounds_column(h, m["metric"])
            at = rounds_column(h, "sim_time_s" if reducer == "time_to" else "round")
            hit = v >= float(m["value"]) if m["op"] == ">=" else v <= float(m["value"])
            hit &= ~np.isnan(v)
            return float(at[np.argmax(hit)]) if hit.any() else math.nan
        at = AT_ROUND.match(reducer)
        if at:
            v, rounds = rounds_column(h, name), rounds_column(h, "round")
            row = np.flatnonzero(rounds == int(at["n"]))
            if row.size == 0:
                have = f"rounds {rounds.min():.0f}-{rounds.max():.0f}" if rounds.size else "no rows"
                raise KeyError(f"/rounds has no round {at['n']} ({have})")
            return float(v[row[0]])
        if reducer == "clients":
            v = table(h, "clients", name)
            return float(np.mean(v[~np.isnan(v)])) if v.size else math.nan
        if reducer == "clients_corr":
            who, v = table(h, "clients", "client"), table(h, "clients", name)
            ids, inv, count = np.unique(who, return_inverse=True, return_counts=True)
            per = np.bincount(inv, weights=v) / count
            if ids.size < 3 or np.std(per) == 0 or np.std(count) == 0:
                return math.nan
            return float(np.corrcoef(count, per)[0, 1])
        v = rounds_column(h, name)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return math.nan
    return float({"final": lambda a: a[-1], "mean": np.mean, "max": np.max, "min": np.min,
                  "sum": np.sum}[reducer](v))


def run_group(exe, root, outdir, group, threads):
    scenario, seeds, sets = group
    files, errors = [], []
    tag = re.sub(r"[^A-Za-z0-9]+", "_", f"{scenario}_{'_'.join(sets)}")[-120:]
    for seed in seeds or (None,):
        out = os.path.join(outdir, f"{tag}_s{seed if seed is not None else 'default'}.h5")
        if os.path.exists(out):
            os.remove(out)
        cmd = [exe, "run", os.path.join(root, scenario), "-q", "-o", out, "--threads", str(threads)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        for s in sets:
            cmd += ["--set", s]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            errors.append(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[-400:]}")
        else:
            files.append(out)
    return files, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--exe", default=None, help="ledgerfl executable (default ROOT/build/ledgerfl)")
    ap.add_argument("--fast", action="store_true", help="only the claims marked 'fast'")
    ap.add_argument("--only", default="", help="only claims whose scenario path contains this")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="runs at once")
    ap.add_argument("--threads", type=int, default=1, help="--threads of each run")
    ap.add_argument("--keep", default=None, help="keep the run files in this directory")
    ap.add_argument("--list", action="store_true", help="list the claims, run nothing")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    exe = a.exe or os.path.join(root, "build", "ledgerfl")
    try:
        claims = read_claims(root)
    except BadClaim as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    claims = [c for c in claims if (c.fast or not a.fast) and a.only in c.scenario]
    if not claims:
        print("figures: no claims selected", file=sys.stderr)
        return 1
    if a.list:
        for c in claims:
            print(f"{c.where}: {c.text}")
        return 0
    groups = sorted({c.group() for c in claims}, key=str)
    outdir = a.keep or tempfile.mkdtemp(prefix="ledgerfl_figures_")
    os.makedirs(outdir, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        done = dict(zip(groups, pool.map(lambda g: run_group(exe, root, outdir, g, a.threads),
                                         groups)))
    failed = 0
    rows = []
    for c in claims:
        files, errors = done[c.group()]
        if errors:
            failed += 1
            rows.append((c, "run failed", "FAIL"))
            for e in errors:
                print(f"{c.where}: {e}", file=sys.stderr)
            continue
        try:
            vals = np.array([value_of(f, c.selector) for f in files])
        except KeyError as e:
            failed += 1
            rows.append((c, f"missing: {e}", "FAIL"))
            continue
        mean = float(np.mean(vals))
        std = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
        ok = abs(mean - c.claimed) <= c.tol
        failed += not ok
        got = f"{mean:.4g} ± {std:.2g} (n={len(vals)})" if len(vals) > 1 else f"{mean:.4g}"
        rows.append((c, got, "ok" if ok else "FAIL"))
    w = max(len(c.where) for c, _, _ in rows)
    for c, got, verdict in rows:
        extra = (" " + " ".join(c.sets)) if c.sets else ""
        print(f"{verdict:4}  {c.where:<{w}}  {c.selector}{extra}: claimed {c.claimed:.4g} "
              f"± {c.tol:.2g}, obtained {got}")
    print(f"figures: {len(rows) - failed} of {len(rows)} claims hold"
          + (f" (run files in {outdir})" if a.keep else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
