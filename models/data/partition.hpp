// Partitioners: plain functions that cut a data set's rows over clients into a CSR Partition.
// Every one takes a seed (the caller derives it from its keyed stream) and is deterministic;
// each client's rows come out sorted ascending (better locality when gathering minibatches).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "models/data/dataset.hpp"

namespace ledgerfl::data {

// Builds a Partition from per-client row lists.
Partition partition_from_lists(const std::vector<std::vector<std::uint32_t>>& lists);

// IID: a uniform random permutation cut into num_clients near-equal parts (sizes differ by at
// most one).
Partition partition_iid(std::size_t num_samples, std::size_t num_clients, std::uint64_t seed);

// Label skew, Hsu, Qi & Brown 2019: for every class c, proportions p_c ~ Dir(alpha 1_N) over the
// N clients; the shuffled rows of class c are cut at floor(cumsum(p_c) * n_c). Small alpha: few
// classes per client; large alpha: close to IID. Never fails when min_size * N <= rows (else
// std::invalid_argument):
//  1. up to max_tries times, the whole draw is repeated until every client holds >= min_size
//     rows (the rejection convention of NIID-Bench, Li et al. 2022, Flower's
//     DirichletPartitioner and the PyTorch reference script, whose loop has no bound); a draw
//     that succeeds here is the partition these methods give, unchanged;
//  2. otherwise (at small alpha with many clients the rejection loop practically never ends:
//     alpha = 0.1 over 1000 clients of 60,000 rows), a fresh draw of every p_c, then each client
//     first takes min_size rows whose classes follow its own class mix p_{c,k} n_c, and the
//     remaining rows of every class are cut by p_c (partition.cpp says how it differs).
// Deterministic from seed; memory O(rows + N x classes).
Partition partition_dirichlet(std::span<const std::int32_t> labels, int num_classes,
                              std::size_t num_clients, double alpha, std::uint64_t seed,
                              std::size_t min_size = 10, int max_tries = 100);

// Pathological non-IID of McMahan et al. 2017: rows sorted by label (stable), cut into
// num_clients * shards_per_client equal shards, and each client gets shards_per_client random
// shards. With 60000 rows, 100 clients and 2 shards each (shards of 300), no client has more
// than two labels.
Partition partition_shards(std::span<const std::int32_t> labels, std::size_t num_clients,
                           std::size_t shards_per_client, std::uint64_t seed);

// Quantity skew with IID labels: client k's share is proportional to q_k, with
// q_k ~ LogNormal(0, sigma) (law = lognormal) or q_k ~ Pareto(x_m = 1, shape = exponent)
// (law = power_law); size_k = min_size + floor(share_k (n - N min_size)), the remainder going one
// row each to the clients with the largest fractional parts. Rows are a random permutation cut
// into those sizes.
struct QuantitySkew {
  enum class Law { lognormal, power_law };
  Law law = Law::lognormal;
  double sigma = 1.0;     // lognormal
  double exponent = 1.5;  // power_law (Pareto shape; smaller = heavier tail)
  std::size_t min_size = 1;
};
Partition partition_quantity_skew(std::size_t num_samples, std::size_t num_clients,
                                  const QuantitySkew& q, std::uint64_t seed);

// Moves floor(fraction * size) random rows of every client from `train` into the returned
// per-client test Partition (same number of clients). fraction in [0, 1).
Partition split_local_test(Partition& train, double fraction, std::uint64_t seed);

}  // namespace ledgerfl::data
