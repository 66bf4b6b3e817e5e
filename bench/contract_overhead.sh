#!/usr/bin/env bash
# Issue 9, section 7: what the chain, the contract and the economy add to a round of config A's
# federation, measured in one go against the server coordinator on the same learner.
#   overhead = (contract round wall - server round wall - SHA-256 wall) / server round wall
# where round wall is /timing/wall_s summed over the run's rounds, and the SHA-256 wall is the
# commitments' task time (printed by the run) divided by the threads. Also the SHA-256
# throughput of the commitments against `openssl speed -evp sha256` (single process, and
# -multi THREADS when both cores hash at once), and the RSS of a long contract run.
# Usage: bench/contract_overhead.sh [THREADS] [REPEATS]   (defaults 2 and 3; medians reported)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
reps=${2:-3}
out=runs/bench/contract
mkdir -p "$out"
py=/usr/bin/python3
scenario=bench/contract_overhead.toml
for i in $(seq "$reps"); do
  for c in server contract; do
    build/ledgerfl run "$scenario" --set coordinator.type=$c --threads "$threads" --force \
      --progress never -o "$out/${c}_$i.h5" > "$out/${c}_$i.txt"
  done
done
ossl1=$(openssl speed -evp sha256 -bytes 16384 -seconds 2 2>/dev/null | awk '/^sha256/ {print $NF}')
osslm=$(openssl speed -evp sha256 -bytes 16384 -seconds 2 -multi "$threads" 2>/dev/null |
  awk '/^sha256/ {print $NF}')
$py - "$out" "$reps" "$threads" "$ossl1" "$osslm" <<'PY'
import re, statistics, sys, h5py
out, reps, threads, o1, om = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
kb = lambda s: float(s.rstrip("k")) * 1e3 / 1e6  # openssl prints 1000-byte k; to MB/s
o1, om = kb(o1), kb(om) / threads
over, sha_rate, srv, con = [], [], [], []
for i in range(1, reps + 1):
    wall = {}
    for c in ("server", "contract"):
        with h5py.File(f"{out}/{c}_{i}.h5", "r") as h:
            wall[c] = float(h["timing/wall_s"][()].sum())
    text = open(f"{out}/contract_{i}.txt").read()
    m = re.search(r"([\d.]+) MB hashed with SHA-256 in ([\d.]+) s of task time", text)
    mb, sha_s = float(m.group(1)), float(m.group(2))
    over.append((wall["contract"] - wall["server"] - sha_s / threads) / wall["server"])
    sha_rate.append(mb / sha_s)
    srv.append(wall["server"]); con.append(wall["contract"])
med = statistics.median
print(f"round wall (20 rounds, {threads} threads, median of {reps}): server {med(srv):.3f} s, "
      f"contract {med(con):.3f} s")
print(f"contract overhead except SHA-256: {100 * med(over):.1f} % of the server's round wall "
      f"(target <= 10 %); runs: " + ", ".join(f"{100 * x:.1f}" for x in over))
print(f"SHA-256 of the updates: {med(sha_rate):.0f} MB/s per core; openssl speed: {o1:.0f} MB/s "
      f"alone ({100 * med(sha_rate) / o1:.0f} %), {om:.0f} MB/s per process with -multi {threads} "
      f"({100 * med(sha_rate) / om:.0f} %)")
PY
