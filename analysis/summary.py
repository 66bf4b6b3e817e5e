#!/usr/bin/python3
"""Print a summary of a ledgerfl run file (HDF5): metadata, rounds, final and best values.

For each round metric: the final value (last complete round), the best value and its round
(lowest for names that read like costs -- loss, error, time, gas, latency, bytes, cost -- and
highest otherwise) and how many rounds recorded it. Long metadata (the scenario file) is shown by
its size; --meta NAME prints one attribute in full.

Runs with Debian's python3 (python3-h5py, python3-numpy).
"""

import argparse
import sys

from ledgerfl_h5 import (  # first: explains a missing h5py/numpy
    RunFileError,
    complete_rounds,
    is_int_metric,
    meta,
    open_run,
    read_metric,
    round_metrics,
)

import numpy as np  # noqa: E402

LOWER_IS_BETTER = ("loss", "error", "time", "gas", "latency", "bytes", "cost", "stale", "drop")
FIRST_META = ("version", "git", "seed", "command_line")


def fmt(v, is_int):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    return f"{int(v)}" if is_int else f"{v:.6g}"


def summarize(path, out=sys.stdout):
    with open_run(path) as f:
        attrs = meta(f)
        n = complete_rounds(f)
        print(f"run file: {path}", file=out)
        for key in [k for k in FIRST_META if k in attrs] + sorted(
            k for k in attrs if k not in FIRST_META
        ):
            value = attrs[key]
            if isinstance(value, str) and (len(value) > 100 or "\n" in value):
                value = f"<{len(value.encode())} bytes; --meta {key} prints it>"
            print(f"  {key:<20} {value}", file=out)
        wall = f["timing/wall_s"][:n] if "timing/wall_s" in f else np.array([])
        wall_text = f", wall {wall.sum():.3f} s ({wall.mean():.4f} s/round)" if len(wall) else ""
        print(f"rounds: {n}{wall_text}", file=out)
        names = round_metrics(f)
        if not names:
            print("no round metrics", file=out)
            return
        width = max(len("metric"), *(len(m) for m in names))
        print(f"  {'metric':<{width}}  {'final':>12}  {'best':>12}  {'at round':>8}  recorded",
              file=out)
        for m in names:
            y = read_metric(f, m)
            is_int = is_int_metric(f, m)
            ok = ~np.isnan(y)
            final = y[-1] if len(y) else None
            if ok.any():
                lower = any(w in m for w in LOWER_IS_BETTER)
                best_at = int(np.nanargmin(y) if lower else np.nanargmax(y))
                best, at = y[best_at], str(best_at)
            else:
                best, at = None, "-"
            print(
                f"  {m:<{width}}  {fmt(final, is_int):>12}  {fmt(best, is_int):>12}  {at:>8}  "
                f"{int(ok.sum())}/{len(y)}",
                file=out,
            )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", metavar="RUN.h5", help="run file")
    ap.add_argument("--meta", metavar="NAME", help="print the /meta attribute NAME in full and exit")
    args = ap.parse_args(argv)
    try:
        if args.meta:
            with open_run(args.run) as f:
                attrs = meta(f)
                if args.meta not in attrs:
                    raise RunFileError(f"{args.run}: no /meta attribute '{args.meta}'")
                print(attrs[args.meta])
            return 0
        summarize(args.run)
    except RunFileError as err:
        print(f"summary.py: {err}", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError) as err:  # verified, yet h5py could not read it
        print(f"summary.py: {args.run if hasattr(args, 'run') else args.runs[0]}: unreadable: {err}",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
