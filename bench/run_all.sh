#!/usr/bin/env bash
# `make bench`: every benchmark of the project, each reported as a ratio against the baseline
# named by the issue, measured in the same run on this machine:
#   - event engine hold model vs a bare std::priority_queue loop (bench_engine)
#   - model kernels vs raw Eigen GEMM of the same shapes (bench_models)
#   - chain runs: bench/chain/bitcoin_10k.toml and bft_100.toml (chain_bench: events/s; target
#     >= 2 M events/s for message-heavy runs)
#   - whole runs: bench/config_a.toml, config_b.toml, million_clients.toml timed by ledgerfl
#     (/timing/wall_s) vs the plain PyTorch FedAvg loop in ../shared/reference (config A and B)
# Results land in runs/bench/; the table is printed at the end (bench/report.py).
# Set BENCH_SKIP_TORCH=1 to skip the PyTorch reference runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash third_party/install.sh packages.txt packages-bench.txt
out=runs/bench
mkdir -p "$out"
py=/usr/bin/python3
ref=../shared/reference/fedavg_torch.py

echo "== event engine (hold model, 1,000 entities, 10 M events)"
build/bench/bench_engine --benchmark_format=json --benchmark_out="$out/engine.json" \
  --benchmark_out_format=json > /dev/null
if [ -x build/bench/models/bench_models ]; then
  echo "== model kernels"
  build/bench/models/bench_models --benchmark_format=json --benchmark_out="$out/models.json" \
    --benchmark_out_format=json > /dev/null
fi
for cfg in bitcoin_10k bft_100; do
  echo "== chain_bench bench/chain/$cfg.toml"
  build/bench/chain/chain_bench "bench/chain/$cfg.toml" > "$out/chain_$cfg.txt"
done
for cfg in config_a config_b million_clients; do
  echo "== ledgerfl run bench/$cfg.toml"
  /usr/bin/time -v build/ledgerfl run "bench/$cfg.toml" -q --force --threads 2 -o "$out/$cfg.h5" \
    2> "$out/$cfg.time"
done
if [ "${BENCH_SKIP_TORCH:-0}" != 1 ] && [ -f "$ref" ]; then
  echo "== PyTorch reference, config A (best settings: 2 single-thread workers)"
  $py "$ref" --clients 1000 --per-round 100 --rounds 20 --local-epochs 1 --batch 32 --lr 0.05 \
    --alpha 0.5 --seed 0 --threads 1 --workers 2 --blas-core SkylakeX --json \
    | grep '^RESULT' | sed 's/^RESULT //' > "$out/torch_config_a.json"
  echo "== PyTorch reference, config B"
  $py "$ref" --clients 100 --per-round 10 --rounds 50 --local-epochs 5 --batch 10 --lr 0.05 \
    --alpha 0.5 --seed 0 --threads 1 --workers 2 --blas-core SkylakeX --json \
    | grep '^RESULT' | sed 's/^RESULT //' > "$out/torch_config_b.json"
fi
$py bench/report.py "$out"
