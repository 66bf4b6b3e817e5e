#!/usr/bin/env bash
# Golden-curve regression: run a scenario and compare its /rounds with the checked-in reference.
# Usage: golden.sh LEDGERFL SCENARIO GOLDEN OUT
# Regenerate a golden after an intended change of results: make golden
set -euo pipefail
exe=$1 scenario=$2 golden=$3 out=$4
"$exe" run "$scenario" -q -o "$out"
"$exe" check "$out" --golden "$golden" --rtol 1e-5 --atol 1e-7
