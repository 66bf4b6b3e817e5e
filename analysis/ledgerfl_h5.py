"""Shared helpers for the analysis scripts: open a ledgerfl run file and read its round metrics.

Layout (sim/metrics/README.md): /meta attributes, /rounds/<metric> 1-D int64 or float64 datasets
(one row per round), /timing/wall_s. Missing values are NaN (float64) or INT64_MIN (int64);
read_metric() turns both into NaN. Only committed rows count: /integrity records the rows of
every dataset at each flush (the last commit row is the marker), and rows past it are ignored.

open_run() first verifies the file with `ledgerfl audit` (Fletcher-32 chunk checksums, the SHA-256
digest chain, the ledger) in a subprocess, before h5py reads any data: h5py can crash inside
HDF5 on a damaged chunk, and a damaged file must give one message, not a crash. The executable
is $LEDGERFL, else build/ledgerfl next to this folder, else `ledgerfl` on PATH.
"""

import os
import shutil
import subprocess
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


def ledgerfl_exe():
    """The ledgerfl executable used to verify files, or None."""
    env = os.environ.get("LEDGERFL")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "ledgerfl")
    if os.access(here, os.X_OK):
        return here
    return shutil.which("ledgerfl")


def verify(path):
    """Runs `ledgerfl audit PATH`; raises RunFileError with its message unless it passes."""
    if not os.path.isfile(path):
        raise RunFileError(f"{path}: no such file")
    exe = ledgerfl_exe()
    if exe is None:
        raise RunFileError(
            f"{path}: cannot verify the file: no ledgerfl executable (set LEDGERFL=path/to/ledgerfl)"
        )
    try:
        res = subprocess.run([exe, "audit", path], capture_output=True, text=True, timeout=600)
    except OSError as err:
        raise RunFileError(f"{path}: cannot run {exe} audit: {err}") from None
    if res.returncode != 0:
        lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
        why = next((ln for ln in lines if "audit:" in ln or "error" in ln), None)
        why = why or (lines[-1] if lines else f"exit code {res.returncode}")
        raise RunFileError(f"damaged or tampered file (ledgerfl audit failed): {why}")


def open_run(path, check=True):
    """Opens a run file read-only after verify(); raises RunFileError with the path on failure."""
    if check:
        verify(path)
    try:
        f = h5py.File(path, "r")
    except (OSError, FileNotFoundError) as err:
        raise RunFileError(f"{path}: not a readable HDF5 file ({err})") from None
    f.ledgerfl_committed = committed_rows(f)
    return f


def committed_rows(f):
    """Rows per dataset path at the last commit of /integrity, or None for a file without it."""
    if "integrity" not in f:
        return None
    g = f["integrity"]
    objects = g.attrs["objects"]
    if isinstance(objects, bytes):
        objects = objects.decode("utf-8")
    objects = objects.split("\n")
    commits = g["commits"][:]
    if len(commits) and commits[-1]["flush"] == 0 and commits[-1]["rows_end"] == 0 and not (
        commits[-1]["digest"].any()
    ):
        commits = commits[:-1]  # extended but never written: a killed run's last flush
    end = int(commits[-1]["rows_end"]) if len(commits) else 0
    out = {}
    for row in g["rows"][:end]:
        out[objects[int(row["object"])]] = int(row["rows"])
    return out


def committed(f, path):
    """Committed row count of dataset `path` ("/rounds/loss"), or its length without /integrity."""
    n = int(f[path].shape[0])
    rows = getattr(f, "ledgerfl_committed", None)
    if rows is None:
        rows = committed_rows(f)
    return n if rows is None else min(n, rows.get(path, 0))


def complete_rounds(f):
    """Complete rounds: committed rows of /timing/wall_s (written last in each round)."""
    if "timing/wall_s" in f:
        return committed(f, "/timing/wall_s")
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
