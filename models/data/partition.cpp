// Partitioners (IID, Dirichlet label skew, shards, quantity skew) and the local test split.
#include "models/data/partition.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "models/nn/rng.hpp"

namespace ledgerfl::data {
namespace {

using nn::Xoshiro256;

void require_clients(std::size_t num_clients, std::size_t num_samples, const char* who) {
  if (num_clients == 0) throw std::invalid_argument(std::string(who) + ": num_clients must be > 0");
  if (num_samples > std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument(std::string(who) + ": more than 2^32 rows");
}

// Cuts `perm` into consecutive parts of the given sizes.
Partition cut(const std::vector<std::uint32_t>& perm, const std::vector<std::size_t>& sizes) {
  Partition p;
  p.offsets.reserve(sizes.size() + 1);
  p.offsets.push_back(0);
  p.rows = perm;
  for (std::size_t s : sizes) p.offsets.push_back(p.offsets.back() + s);
  for (std::size_t c = 0; c < sizes.size(); ++c)
    std::sort(p.rows.begin() + static_cast<std::ptrdiff_t>(p.offsets[c]),
              p.rows.begin() + static_cast<std::ptrdiff_t>(p.offsets[c + 1]));
  return p;
}

std::vector<std::uint32_t> permutation(std::size_t n, Xoshiro256& rng) {
  std::vector<std::uint32_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0u);
  rng.shuffle(std::span<std::uint32_t>(perm));
  return perm;
}

}  // namespace

Partition partition_from_lists(const std::vector<std::vector<std::uint32_t>>& lists) {
  Partition p;
  p.offsets.push_back(0);
  for (const auto& l : lists) {
    p.rows.insert(p.rows.end(), l.begin(), l.end());
    p.offsets.push_back(p.rows.size());
  }
  return p;
}

Partition partition_iid(std::size_t num_samples, std::size_t num_clients, std::uint64_t seed) {
  require_clients(num_clients, num_samples, "partition_iid");
  Xoshiro256 rng(seed);
  const auto perm = permutation(num_samples, rng);
  std::vector<std::size_t> sizes(num_clients, num_samples / num_clients);
  for (std::size_t c = 0; c < num_samples % num_clients; ++c) ++sizes[c];
  return cut(perm, sizes);
}

Partition partition_dirichlet(std::span<const std::int32_t> labels, int num_classes,
                              std::size_t num_clients, double alpha, std::uint64_t seed,
                              std::size_t min_size, int max_tries) {
  require_clients(num_clients, labels.size(), "partition_dirichlet");
  if (!(alpha > 0.0)) throw std::invalid_argument("partition_dirichlet: alpha must be > 0");
  if (min_size * num_clients > labels.size())
    throw std::invalid_argument("partition_dirichlet: min_size * num_clients exceeds the rows");
  std::vector<std::vector<std::uint32_t>> by_class(static_cast<std::size_t>(num_classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes)
      throw std::invalid_argument("partition_dirichlet: label out of range at row " +
                                  std::to_string(i));
    by_class[static_cast<std::size_t>(labels[i])].push_back(static_cast<std::uint32_t>(i));
  }
  Xoshiro256 rng(seed);
  std::vector<double> p(num_clients);
  std::vector<std::vector<std::uint32_t>> parts(num_clients);
  for (int attempt = 1; attempt <= max_tries; ++attempt) {
    for (auto& part : parts) part.clear();
    for (auto idx : by_class) {  // copy: shuffled per attempt
      rng.shuffle(std::span<std::uint32_t>(idx));
      rng.dirichlet(alpha, p);
      double cum = 0.0;
      std::size_t start = 0;
      for (std::size_t k = 0; k < num_clients; ++k) {
        cum += p[k];
        std::size_t end =
            k + 1 == num_clients
                ? idx.size()
                : std::min(idx.size(),
                           static_cast<std::size_t>(cum * static_cast<double>(idx.size())));
        end = std::max(end, start);
        parts[k].insert(parts[k].end(), idx.begin() + static_cast<std::ptrdiff_t>(start),
                        idx.begin() + static_cast<std::ptrdiff_t>(end));
        start = end;
      }
    }
    const bool ok = std::all_of(parts.begin(), parts.end(),
                                [&](const auto& part) { return part.size() >= min_size; });
    if (ok) {
      for (auto& part : parts) std::sort(part.begin(), part.end());
      return partition_from_lists(parts);
    }
  }
  throw std::runtime_error(
      "partition_dirichlet: no partition with every client >= " + std::to_string(min_size) +
      " rows after " + std::to_string(max_tries) + " tries (alpha = " + std::to_string(alpha) +
      ", " + std::to_string(num_clients) + " clients)");
}

Partition partition_shards(std::span<const std::int32_t> labels, std::size_t num_clients,
                           std::size_t shards_per_client, std::uint64_t seed) {
  require_clients(num_clients, labels.size(), "partition_shards");
  const std::size_t shards = num_clients * shards_per_client;
  if (shards_per_client == 0 || shards > labels.size())
    throw std::invalid_argument(
        "partition_shards: need 1 <= num_clients * shards_per_client <= rows");
  std::vector<std::uint32_t> sorted(labels.size());
  std::iota(sorted.begin(), sorted.end(), 0u);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return labels[a] < labels[b]; });
  // Shard s covers sorted[bound(s), bound(s + 1)).
  auto bound = [&](std::size_t s) { return s * labels.size() / shards; };
  Xoshiro256 rng(seed);
  const auto order = permutation(shards, rng);
  std::vector<std::vector<std::uint32_t>> parts(num_clients);
  for (std::size_t c = 0; c < num_clients; ++c) {
    for (std::size_t j = 0; j < shards_per_client; ++j) {
      const std::size_t s = order[c * shards_per_client + j];
      parts[c].insert(parts[c].end(), sorted.begin() + static_cast<std::ptrdiff_t>(bound(s)),
                      sorted.begin() + static_cast<std::ptrdiff_t>(bound(s + 1)));
    }
    std::sort(parts[c].begin(), parts[c].end());
  }
  return partition_from_lists(parts);
}

Partition partition_quantity_skew(std::size_t num_samples, std::size_t num_clients,
                                  const QuantitySkew& q, std::uint64_t seed) {
  require_clients(num_clients, num_samples, "partition_quantity_skew");
  if (q.min_size * num_clients > num_samples)
    throw std::invalid_argument("partition_quantity_skew: min_size * num_clients exceeds the rows");
  if (q.law == QuantitySkew::Law::lognormal && !(q.sigma >= 0.0))
    throw std::invalid_argument("partition_quantity_skew: sigma must be >= 0");
  if (q.law == QuantitySkew::Law::power_law && !(q.exponent > 0.0))
    throw std::invalid_argument("partition_quantity_skew: exponent must be > 0");
  Xoshiro256 rng(seed);
  std::vector<double> share(num_clients);
  for (auto& s : share) {
    if (q.law == QuantitySkew::Law::lognormal) {
      s = rng.lognormal(0.0, q.sigma);
    } else {
      double u;
      do u = rng.uniform();
      while (u == 0.0);
      s = std::pow(u, -1.0 / q.exponent);  // Pareto(1, exponent)
    }
  }
  const double total = std::accumulate(share.begin(), share.end(), 0.0);
  const std::size_t free_rows = num_samples - q.min_size * num_clients;
  std::vector<std::size_t> sizes(num_clients);
  std::vector<std::pair<double, std::size_t>> frac(num_clients);
  std::size_t assigned = 0;
  for (std::size_t c = 0; c < num_clients; ++c) {
    const double exact = share[c] / total * static_cast<double>(free_rows);
    const auto whole = static_cast<std::size_t>(std::floor(exact));
    sizes[c] = q.min_size + whole;
    assigned += whole;
    frac[c] = {exact - static_cast<double>(whole), c};
  }
  // Largest remainders first (ties by client id), deterministic.
  std::sort(frac.begin(), frac.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (std::size_t i = 0; assigned < free_rows; ++i, ++assigned)
    ++sizes[frac[i % num_clients].second];
  const auto perm = permutation(num_samples, rng);
  return cut(perm, sizes);
}

Partition split_local_test(Partition& train, double fraction, std::uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    throw std::invalid_argument("split_local_test: fraction must be in [0, 1)");
  Partition test, kept;
  test.offsets.push_back(0);
  kept.offsets.push_back(0);
  std::vector<std::uint32_t> rows;
  for (std::size_t c = 0; c < train.num_clients(); ++c) {
    const auto r = train.client(c);
    rows.assign(r.begin(), r.end());
    Xoshiro256 rng(nn::derive_seed(seed, c));
    rng.shuffle(std::span<std::uint32_t>(rows));
    const auto t =
        static_cast<std::size_t>(std::floor(fraction * static_cast<double>(rows.size())));
    std::sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(t));
    std::sort(rows.begin() + static_cast<std::ptrdiff_t>(t), rows.end());
    test.rows.insert(test.rows.end(), rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(t));
    kept.rows.insert(kept.rows.end(), rows.begin() + static_cast<std::ptrdiff_t>(t), rows.end());
    test.offsets.push_back(test.rows.size());
    kept.offsets.push_back(kept.rows.size());
  }
  train = std::move(kept);
  return test;
}

}  // namespace ledgerfl::data
