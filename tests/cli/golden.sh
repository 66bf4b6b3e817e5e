#!/usr/bin/env bash
# Golden-curve regression: run a scenario and compare its /rounds with the checked-in reference.
# Usage: golden.sh LEDGERFL SCENARIO GOLDEN OUT [PYTHON]
# Regenerate a golden after an intended change of results: make golden
#
# Results are bit-reproducible only between builds with the same floating-point code paths
# (/meta/numerics, e.g. "avx512f-optimized"). When this build's numerics match the golden's, the
# comparison is exact up to rtol 1e-5; otherwise (another CPU, an unoptimised sanitizer build)
# the schedule must still match exactly, and the learning curves within 3% (SGD trajectories
# drift apart after different roundings, but a real regression moves them much further).
set -euo pipefail
exe=$1 scenario=$2 golden=$3 out=$4 py=${5:-}
"$exe" run "$scenario" -q --force -o "$out"
meta() { "$py" -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['meta'].attrs.get('numerics',''))" "$1"; }
if [[ -n "$py" ]]; then
  mine=$(meta "$out") theirs=$(meta "$golden")
else
  mine=unknown theirs=unknown
fi
if [[ "$mine" == "$theirs" ]]; then
  exec "$exe" check "$out" --golden "$golden" --rtol 1e-5 --atol 1e-7
fi
echo "golden recorded with numerics '$theirs', this build has '$mine': exact schedule, curves within 3%"
"$exe" check "$out" --golden "$golden" --rtol 0 --atol 0 \
  --metric sim_time_s --metric round_duration_s --metric mean_staleness
"$exe" check "$out" --golden "$golden" --rtol 0.03 --atol 0.005 \
  --metric test_accuracy --metric test_loss --metric train_loss --metric update_norm_mean
