"""Shared helpers for the analysis scripts: open a ledgerfl run file and read its round metrics.

Layout (sim/metrics/README.md): /meta attributes, /rounds/<metric> 1-D int64 or float64 datasets
(one row per round), /timing/wall_s. Missing values are NaN (float64) or INT64_MIN (int64);
read_metric() turns both into NaN. Only the first len(/timing/wall_s) rows are complete rounds.
"""

import sys

try:
    import h5py
    import numpy as np
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.exit(
        f"{err}. The analysis scripts need Debian's python3-h5py, python3-numpy and "
        "python3-matplotlib, which belong to the system interpreter: run them with /usr/bin/python3."
    )

INT64_MIN = np.iinfo(np.int64).min


class RunFileError(Exception):
    """A file that is not a readable ledgerfl run file, or lacks something asked for."""


def open_run(path):
    """Opens a run file read-only; raises RunFileError with the path on failure."""
    try:
        return h5py.File(path, "r")
    except (OSError, FileNotFoundError) as err:
        raise RunFileError(f"{path}: not a readable HDF5 file ({err})") from None


def complete_rounds(f):
    """Number of complete rounds: the length of /timing/wall_s (written last in each round)."""
    if "timing/wall_s" in f:
        return int(f["timing/wall_s"].shape[0])
    lengths = [ds.shape[0] for ds in f["rounds"].values()] if "rounds" in f else []
    return int(min(lengths)) if lengths else 0


def round_metrics(f):
    """Names of the /rounds datasets, in the order they were created."""
    if "rounds" not in f:
        return []
    return list(f["rounds"].keys())  # h5py follows the tracked creation order


def is_int_metric(f, name):
    return np.issubdtype(f["rounds"][name].dtype, np.integer)


def read_metric(f, name):
    """The metric as float64 with missing values as NaN; RunFileError if absent."""
    if name == "round":
        return np.arange(complete_rounds(f), dtype=np.float64)
    if "rounds" not in f or name not in f["rounds"]:
        have = ", ".join(round_metrics(f)) or "none"
        raise RunFileError(f"{f.filename}: no round metric '{name}' (has: {have})")
    raw = f["rounds"][name][: complete_rounds(f)]
    values = raw.astype(np.float64)
    if np.issubdtype(raw.dtype, np.integer):
        values[raw == INT64_MIN] = np.nan
    return values


def meta(f):
    """The /meta attributes as a dict of str or int."""
    if "meta" not in f:
        return {}
    out = {}
    for key, value in f["meta"].attrs.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out
