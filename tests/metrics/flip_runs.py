#!/usr/bin/python3
"""Byte-flip test: damaged copies of a run file never pass `ledgerfl audit`.

Each trial flips one byte (XOR with 1..255) inside the stored bytes HDF5 reads: a chunk of a
dataset (located with h5py's chunk info), a dataset's object header, or the superblock.
Targets are taken round-robin over every dataset, so all of them get flips. `audit` must exit
1 or 2 with a message, never 0, never die of a signal or hang. Then the file cut at random
lengths must fail too. Prints how many flips landed where and how each was caught.

usage: flip_runs.py LEDGERFL RUN.h5 WORKDIR [--flips 500] [--seed 1] [--summary SCRIPT ...]
  --summary: also run these analysis scripts on every 50th damaged copy (exit 2, one line).
"""

import argparse
import collections
import os
import random
import subprocess
import sys

import h5py


def targets(path):
    """(label, offset, length) of every dataset's chunks and object header, and the superblock."""
    out = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            info = h5py.h5o.get_info(obj.id)
            chunks = []
            if obj.chunks is not None:
                for i in range(obj.id.get_num_chunks()):
                    c = obj.id.get_chunk_info(i)
                    chunks.append((c.byte_offset, c.size))
            elif obj.id.get_offset() is not None:
                chunks.append((obj.id.get_offset(), obj.id.get_storage_size()))
            out.append(("/" + name, chunks, info.addr))
        f.visititems(visit)
    return out


def classify(text):
    t = text.lower()
    for key, label in (
        ("checksum", "checksum (Fletcher-32 or metadata)"),
        ("digest chain broken", "digest chain"),
        ("not a readable hdf5", "not HDF5 (superblock)"),
        ("unreadable", "HDF5 read error"),
        ("block", "ledger audit"),
        ("transaction", "ledger audit"),
        ("merkle", "ledger audit"),
    ):
        if key in t:
            return label
    return "other"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("run")
    ap.add_argument("workdir")
    ap.add_argument("--flips", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--summary", action="append", default=[])
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    ok = subprocess.run([args.exe, "audit", args.run], capture_output=True, text=True)
    if ok.returncode != 0:
        sys.exit(f"the undamaged file does not pass audit: {ok.stdout}")
    data = open(args.run, "rb").read()
    objs = targets(args.run)
    rng = random.Random(args.seed)
    bad = os.path.join(args.workdir, "flipped.h5")
    where = collections.Counter()
    caught = collections.Counter()
    failures = []
    for t in range(args.flips):
        name, chunks, header = objs[t % len(objs)]
        kind = rng.random()
        if t % 25 == 0:
            label, off = "superblock", rng.randrange(0, 48)
        elif kind < 0.15 or not chunks:
            label, off = f"{name} (object header)", header + rng.randrange(0, 64)
        else:
            c_off, c_len = rng.choice(chunks)
            label, off = f"{name} (chunk)", c_off + rng.randrange(0, max(c_len, 1))
        b = bytearray(data)
        b[off] ^= rng.randrange(1, 256)
        with open(bad, "wb") as fh:
            fh.write(b)
        where[label] += 1
        try:
            r = subprocess.run([args.exe, "audit", bad], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            failures.append(f"flip {t} at {off} ({label}): audit hangs")
            continue
        text = (r.stdout + r.stderr).strip()
        if r.returncode == 0:
            failures.append(f"flip {t} at {off} ({label}): audit exit 0")
        elif r.returncode not in (1, 2) or not text:
            failures.append(f"flip {t} at {off} ({label}): audit exit {r.returncode}: {text[-200:]}")
        else:
            caught[f"exit {r.returncode}: {classify(text)}"] += 1
        if args.summary and t % 50 == 0:
            for script in args.summary:
                extra = ["-o", os.path.join(args.workdir, "plot.png")] if "plot" in script else []
                s = subprocess.run(
                    [sys.executable, script, bad] + extra, capture_output=True, text=True,
                    timeout=120,
                    env=dict(os.environ, LEDGERFL=args.exe),
                )
                lines = s.stderr.strip().splitlines()
                if s.returncode != 2 or len(lines) != 1:
                    failures.append(
                        f"flip {t}: {os.path.basename(script)} exit {s.returncode}, "
                        f"stderr {s.stderr.strip()[-300:]!r}"
                    )
                else:
                    caught["analysis script exit 2"] += 1
    # Edits through HDF5 itself (h5py recomputes the chunk checksums): only the digest chain can
    # see them. One committed value in every dataset (but /timing, wall clock, not hashed), a
    # /meta attribute and an added dataset; each must fail with exit 1.
    import numpy as np

    edits = 0
    with h5py.File(args.run, "r") as f:
        names = [n for n, _, _ in objs if not n.startswith("/timing/")]
        meta_keys = list(f["meta"].attrs.keys()) if "meta" in f else []
    for name in names + ["meta:" + k for k in meta_keys[:3]] + ["add:/rounds/extra"]:
        with open(bad, "wb") as fh:
            fh.write(data)
        with h5py.File(bad, "r+") as f:
            if name.startswith("meta:"):
                key = name[5:]
                v = f["meta"].attrs[key]
                f["meta"].attrs[key] = (v + 1) if isinstance(v, (int, np.integer)) else (str(v) + "x")
            elif name.startswith("add:"):
                f.create_dataset(name[4:], data=np.zeros(3))
            else:
                ds = f[name]
                if ds.shape[0] == 0:
                    continue
                i = rng.randrange(0, ds.shape[0])
                row = ds[i : i + 1].copy()
                raw = bytearray(row.tobytes())
                raw[rng.randrange(0, len(raw))] ^= 0x10
                ds[i : i + 1] = np.frombuffer(bytes(raw), dtype=row.dtype)
        r = subprocess.run([args.exe, "audit", bad], capture_output=True, text=True, timeout=60)
        edits += 1
        if r.returncode != 1:
            failures.append(f"edit of {name}: audit exit {r.returncode}, expected 1: {r.stdout[-200:]}")
        else:
            caught[f"edit, exit 1: {classify(r.stdout + r.stderr)}"] += 1
    cuts = 0
    for _ in range(20):
        n = rng.randrange(0, len(data))
        with open(bad, "wb") as fh:
            fh.write(data[:n])
        r = subprocess.run([args.exe, "audit", bad], capture_output=True, text=True, timeout=60)
        if r.returncode not in (1, 2):
            failures.append(f"file cut at {n} of {len(data)} bytes: audit exit {r.returncode}")
        else:
            cuts += 1
    os.remove(bad)
    detected = args.flips - sum(1 for f in failures if f.startswith("flip") and "audit" in f)
    print(
        f"{args.run}: {args.flips} flips, {detected} detected; {edits} edits through HDF5; "
        f"{cuts}/20 cut files detected"
    )
    print("where the flips landed:")
    for k, v in sorted(where.items()):
        print(f"  {v:4d}  {k}")
    print("how they were caught:")
    for k, v in sorted(caught.items()):
        print(f"  {v:4d}  {k}")
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
