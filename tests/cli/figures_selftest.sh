#!/usr/bin/env bash
# The figures checker can fail: on a tiny copy of the quickstart, a true claim holds, a false
# one fails with exit 1, a claim of a metric the run lacks fails, and a malformed line exits 2.
# Usage: figures_selftest.sh LEDGERFL SOURCE_DIR WORK_DIR PYTHON
set -uo pipefail
exe=$1 src=$2 work=$3 py=$4
rm -rf "$work" && mkdir -p "$work/scenarios"
tiny() {  # tiny NAME CLAIM...: a 3-round quickstart whose header carries the given claims
  local name=$1; shift
  { for c in "$@"; do echo "# figure: $c"; done
    grep -v "^#" "$src/scenarios/quickstart.toml"; } > "$work/scenarios/$name.toml"
}
check() {  # check WANT_RC: run the checker on $work, expect that exit code
  "$py" "$src/analysis/figures.py" --exe "$exe" "$work" -j 1 > "$work/out.txt" 2>&1
  local rc=$?
  if [ "$rc" -ne "$1" ]; then
    echo "figures_selftest: expected exit $1, got $rc:"; cat "$work/out.txt"; exit 1
  fi
}
# The true value first, from a real run, so the claim below is right by construction.
"$exe" run "$src/scenarios/quickstart.toml" -q -o "$work/ref.h5" --set simulation.rounds=3 --seed 7
acc=$("$py" -c "import h5py,sys; print(h5py.File(sys.argv[1])['rounds']['test_accuracy'][-1])" "$work/ref.h5")
set3='--set simulation.rounds=3'
tiny ok "final:test_accuracy = $acc ± 1e-6 | seeds 7-7 | $set3" "max:round = 3 ± 0 | $set3"
check 0
grep -q "2 of 2 claims hold" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
tiny ok "final:test_accuracy = $acc ± 1e-6 | seeds 7-7 | $set3" "final:test_accuracy = 0.05 ± 0.01 | seeds 7-7 | $set3"
check 1
grep -q "^FAIL" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
tiny ok "final:no_such_metric = 1 ± 0 | $set3"
check 1
# time_to/rounds_to: the first round reaching a threshold (its round 3 reaches round >= 3; the
# time of the first round at the final accuracy is read independently); an unreached threshold,
# a table the run lacks (a server run has no /contract_summary) and a missing threshold fail.
t3=$("$py" -c "import h5py,sys; r=h5py.File(sys.argv[1])['rounds']; print(r['sim_time_s'][2])" "$work/ref.h5")
tfin=$("$py" -c "import h5py,sys,numpy as n; r=h5py.File(sys.argv[1])['rounds']; a=r['test_accuracy'][()]; print(r['sim_time_s'][int(n.argmax(a>=a[-1]))])" "$work/ref.h5")
tiny ok "rounds_to:round>=3 = 3 ± 0 | $set3" "time_to:round>=3 = $t3 ± 1e-6 | seeds 7-7 | $set3" \
        "time_to:test_accuracy>=$acc = $tfin ± 1e-6 | seeds 7-7 | $set3"
check 0
grep -q "3 of 3 claims hold" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
# round<N>: the value in the row of round N (read independently above); a round the run lacks
# fails as a missing value.
tiny ok "round3:test_accuracy = $acc ± 1e-6 | seeds 7-7 | $set3" \
        "round3:sim_time_s = $t3 ± 1e-6 | seeds 7-7 | $set3" "round2:round = 2 ± 0 | $set3"
check 0
grep -q "3 of 3 claims hold" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
tiny ok "round9:round = 9 ± 100 | $set3"
check 1
grep -q "has no round 9" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
tiny ok "round:test_accuracy = 1 ± 1 | $set3"
check 2
tiny ok "time_to:test_accuracy>=1.5 = 0 ± 1e9 | $set3"
check 1
tiny ok "contract:reward_gini = 0 ± 1 | $set3"
check 1
grep -q "contract_summary" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
tiny ok "time_to:test_accuracy = 1 ± 1 | $set3"
check 2
tiny ok "final:test_accuracy is about 0.8"
check 2
grep -q "scenarios/ok.toml:1" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
echo "figures_selftest: the checker accepts a true claim and rejects false, missing and malformed ones"
