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

namespace {

// The rows of each class in ascending row order, classes one after another (a counting sort):
// class c holds rows[offsets[c], offsets[c + 1]).
struct ClassRows {
  std::vector<std::uint32_t> rows;
  std::vector<std::size_t> offsets;
  std::size_t count(std::size_t c) const { return offsets[c + 1] - offsets[c]; }
};

ClassRows rows_by_class(std::span<const std::int32_t> labels, int num_classes, const char* who) {
  const auto classes = static_cast<std::size_t>(num_classes);
  ClassRows cr;
  cr.offsets.assign(classes + 1, 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes)
      throw std::invalid_argument(std::string(who) + ": label out of range at row " +
                                  std::to_string(i));
    ++cr.offsets[static_cast<std::size_t>(labels[i]) + 1];
  }
  for (std::size_t c = 0; c < classes; ++c) cr.offsets[c + 1] += cr.offsets[c];
  cr.rows.resize(labels.size());
  std::vector<std::size_t> next(cr.offsets.begin(), cr.offsets.end() - 1);
  for (std::size_t i = 0; i < labels.size(); ++i)
    cr.rows[next[static_cast<std::size_t>(labels[i])]++] = static_cast<std::uint32_t>(i);
  return cr;
}

// Hsu et al.'s cut of n rows by proportions p (one per client): client k gets
// [floor(cum_{k-1} n), floor(cum_k n)), clamped, the last client up to n. Calls take(k, start,
// end) for every client in order.
template <class Take>
void cut_by_proportions(std::size_t n, std::span<const double> p, Take&& take) {
  double cum = 0.0;
  std::size_t start = 0;
  const std::size_t clients = p.size();
  for (std::size_t k = 0; k < clients; ++k) {
    cum += p[k];
    std::size_t end =
        k + 1 == clients ? n : std::min(n, static_cast<std::size_t>(cum * static_cast<double>(n)));
    end = std::max(end, start);
    take(k, start, end);
    start = end;
  }
}

// CSR partition from the client of every row (rows ascending within a client).
Partition from_owner(const std::vector<std::uint32_t>& owner, std::size_t num_clients) {
  Partition part;
  part.offsets.assign(num_clients + 1, 0);
  for (std::uint32_t k : owner) ++part.offsets[k + 1];
  for (std::size_t k = 0; k < num_clients; ++k) part.offsets[k + 1] += part.offsets[k];
  part.rows.resize(owner.size());
  std::vector<std::size_t> next(part.offsets.begin(), part.offsets.end() - 1);
  for (std::size_t i = 0; i < owner.size(); ++i)  // ascending i: each client's rows sorted
    part.rows[next[owner[i]]++] = static_cast<std::uint32_t>(i);
  return part;
}

}  // namespace

Partition partition_dirichlet(std::span<const std::int32_t> labels, int num_classes,
                              std::size_t num_clients, double alpha, std::uint64_t seed,
                              std::size_t min_size, int max_tries) {
  require_clients(num_clients, labels.size(), "partition_dirichlet");
  if (!(alpha > 0.0)) throw std::invalid_argument("partition_dirichlet: alpha must be > 0");
  if (num_classes <= 0) throw std::invalid_argument("partition_dirichlet: num_classes must be > 0");
  if (min_size * num_clients > labels.size())
    throw std::invalid_argument("partition_dirichlet: min_size * num_clients exceeds the rows");
  const auto classes = static_cast<std::size_t>(num_classes);
  const ClassRows by_class = rows_by_class(labels, num_classes, "partition_dirichlet");
  std::vector<std::uint32_t> shuffled(labels.size());  // each class's rows, shuffled per draw
  std::vector<std::uint32_t> owner(labels.size());     // client of every row
  std::vector<std::size_t> sizes(num_clients);
  std::vector<double> p(num_clients);
  auto shuffle_class = [&](std::size_t c, Xoshiro256& rng) {
    const auto first = shuffled.begin() + static_cast<std::ptrdiff_t>(by_class.offsets[c]);
    std::copy(by_class.rows.begin() + static_cast<std::ptrdiff_t>(by_class.offsets[c]),
              by_class.rows.begin() + static_cast<std::ptrdiff_t>(by_class.offsets[c + 1]), first);
    rng.shuffle(std::span<std::uint32_t>(&*first, by_class.count(c)));
  };

  // 1. The reference method (Hsu et al. 2019; NIID-Bench, Li et al. 2022): redraw everything
  //    until every client has min_size rows. Rejected draws only count sizes; the accepted one
  //    is replayed from its saved generator state to assign the rows.
  Xoshiro256 rng(seed);
  for (int attempt = 1; attempt <= max_tries; ++attempt) {
    const Xoshiro256 at_start = rng;
    std::fill(sizes.begin(), sizes.end(), 0);
    for (std::size_t c = 0; c < classes; ++c) {
      shuffle_class(c, rng);
      rng.dirichlet(alpha, p);
      cut_by_proportions(by_class.count(c), p,
                         [&](std::size_t k, std::size_t a, std::size_t b) { sizes[k] += b - a; });
    }
    if (std::all_of(sizes.begin(), sizes.end(), [&](std::size_t s) { return s >= min_size; })) {
      rng = at_start;
      for (std::size_t c = 0; c < classes; ++c) {
        shuffle_class(c, rng);
        rng.dirichlet(alpha, p);
        const std::uint32_t* rows = shuffled.data() + by_class.offsets[c];
        cut_by_proportions(by_class.count(c), p, [&](std::size_t k, std::size_t a, std::size_t b) {
          for (std::size_t i = a; i < b; ++i) owner[rows[i]] = static_cast<std::uint32_t>(k);
        });
      }
      return from_owner(owner, num_clients);
    }
  }

  // 2. The construction that always succeeds (min_size * N <= rows was checked above), drawn
  //    from the same generator after the rejected draws:
  //    a. per class c, shuffle its rows and draw p_c ~ Dir(alpha 1_N) as above;
  //    b. reserve: client k, in id order, takes min_size rows one at a time, the class of each
  //       drawn with weight p_{c,k} n_c among the classes with unreserved rows (its expected
  //       class mix under the cut), the row being the next unreserved one of that class;
  //    c. cut the unreserved rows of every class by p_c as in the reference method.
  //    Every client ends with >= min_size rows and every row is assigned once. Unlike the
  //    reference, this is not Dir(alpha) conditioned on the sizes: the reserved rows follow
  //    each client's own skewed class mix, so label skew survives (a uniform reservation would
  //    add min_size IID rows to every client), but early clients choose first when a class runs
  //    out (only when N * min_size approaches the rows of a class). Memory: the rows plus the
  //    N x classes proportions.
  std::vector<double> prop(classes * num_clients);  // prop[c * N + k] = p_{c,k}
  for (std::size_t c = 0; c < classes; ++c) {
    shuffle_class(c, rng);
    rng.dirichlet(alpha, std::span<double>(prop.data() + c * num_clients, num_clients));
  }
  std::vector<std::size_t> taken(classes, 0);  // reserved rows of each class (a prefix)
  std::vector<double> w(classes);
  for (std::size_t k = 0; k < num_clients; ++k) {
    for (std::size_t j = 0; j < min_size; ++j) {
      double total = 0.0;
      for (std::size_t c = 0; c < classes; ++c) {
        const std::size_t left = by_class.count(c) - taken[c];
        w[c] = left > 0 ? prop[c * num_clients + k] * static_cast<double>(by_class.count(c)) : 0.0;
        total += w[c];
      }
      if (!(total > 0.0)) {  // every weight underflowed: by what is left of each class
        total = 0.0;
        for (std::size_t c = 0; c < classes; ++c)
          total += (w[c] = static_cast<double>(by_class.count(c) - taken[c]));
      }
      double u = rng.uniform() * total;
      std::size_t pick = classes;
      for (std::size_t c = 0; c < classes; ++c) {
        if (w[c] <= 0.0) continue;
        pick = c;  // the last class with weight takes what rounding leaves of u
        if (u < w[c]) break;
        u -= w[c];
      }
      if (pick == classes) throw std::logic_error("partition_dirichlet: no rows left to reserve");
      owner[shuffled[by_class.offsets[pick] + taken[pick]++]] = static_cast<std::uint32_t>(k);
    }
  }
  for (std::size_t c = 0; c < classes; ++c) {
    const std::uint32_t* rest = shuffled.data() + by_class.offsets[c] + taken[c];
    cut_by_proportions(by_class.count(c) - taken[c],
                       std::span<const double>(prop.data() + c * num_clients, num_clients),
                       [&](std::size_t k, std::size_t a, std::size_t b) {
                         for (std::size_t i = a; i < b; ++i)
                           owner[rest[i]] = static_cast<std::uint32_t>(k);
                       });
  }
  return from_owner(owner, num_clients);
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
