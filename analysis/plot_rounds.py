#!/usr/bin/python3
"""Plot per-round metrics of one or more ledgerfl run files (HDF5) into one PNG.

One subplot per metric, one line per file (legend = file name without .h5). Missing values
(rounds where a metric was not recorded) are gaps in the line.

Example:
    analysis/plot_rounds.py fedavg.h5 krum.h5 --metric test_accuracy --metric test_loss \\
        --x sim_time_s -o curves.png

Runs with Debian's python3 (python3-h5py, python3-numpy, python3-matplotlib).
"""

import argparse
import os
import sys

# First: explains a missing h5py/numpy.
from ledgerfl_h5 import RunFileError, is_int_metric, open_run, read_metric, round_metrics

try:
    import matplotlib
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.exit(f"{err}. plot_rounds.py needs Debian's python3-matplotlib: run it with /usr/bin/python3.")

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402


def labels_for(paths):
    """File stems, with the parent folder added where two stems collide."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    out = []
    for p, stem in zip(paths, stems):
        if stems.count(stem) > 1:
            parent = os.path.basename(os.path.dirname(os.path.abspath(p)))
            stem = f"{parent}/{stem}"
        out.append(stem)
    # The same file twice: number the repeats.
    return [f"{s} ({out[:i].count(s) + 1})" if out.count(s) > 1 else s for i, s in enumerate(out)]


def default_metrics(f):
    """Every float64 round metric except wall-clock ones."""
    return [m for m in round_metrics(f) if not is_int_metric(f, m) and "wall" not in m]


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Metrics are the names under /rounds (summary.py lists them).",
    )
    ap.add_argument("runs", nargs="+", metavar="RUN.h5", help="run files to compare")
    ap.add_argument(
        "--metric",
        action="append",
        default=[],
        help="round metric to plot (repeatable; default: every float64 metric of the first file)",
    )
    ap.add_argument(
        "--x",
        default="round",
        help="x axis: 'round' (0-based round index) or a round metric such as sim_time_s",
    )
    ap.add_argument("-o", "--output", required=True, help="output image (.png, .pdf, .svg)")
    ap.add_argument("--title", default=None, help="figure title")
    args = ap.parse_args(argv)

    try:
        files = [open_run(p) for p in args.runs]
        metrics = args.metric or default_metrics(files[0])
        if not metrics:
            raise RunFileError(f"{args.runs[0]}: no float64 round metric to plot; use --metric")
        fig, axes = plt.subplots(
            len(metrics), 1, sharex=True, figsize=(7.5, 2.4 * len(metrics) + 0.6), squeeze=False
        )
        for label, f in zip(labels_for(args.runs), files):
            x = read_metric(f, args.x)
            for ax, m in zip(axes[:, 0], metrics):
                y = read_metric(f, m)
                ax.plot(x, y, label=label, linewidth=1.4, marker="." if len(y) < 40 else None)
        for ax, m in zip(axes[:, 0], metrics):
            ax.set_ylabel(m)
            ax.grid(True, alpha=0.3)
        axes[0, 0].legend(loc="best", fontsize="small")
        axes[-1, 0].set_xlabel(args.x)
        if args.title:
            fig.suptitle(args.title)
        fig.tight_layout()
        fig.savefig(args.output, dpi=110)
    except RunFileError as err:
        print(f"plot_rounds.py: {err}", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError) as err:  # verified, yet h5py could not read it
        print(f"plot_rounds.py: {args.run if hasattr(args, 'run') else args.runs[0]}: unreadable: {err}",
              file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
