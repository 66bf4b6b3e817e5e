// Poisson background transaction generator.
#include "sim/chain/workload.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "sim/chain/ledger.hpp"
#include "sim/core/rng.hpp"

namespace ledgerfl::chain {

std::string_view to_string(SizeDist d) {
  switch (d) {
    case SizeDist::kFixed:
      return "fixed";
    case SizeDist::kUniform:
      return "uniform";
    case SizeDist::kLognormal:
      return "lognormal";
  }
  return "?";
}

void PoissonWorkloadOptions::validate() const {
  if (!(rate > 0)) throw std::invalid_argument("workload.rate must be > 0");
  if (!(size_mean >= 1)) throw std::invalid_argument("workload.size must be >= 1 byte");
  if (!(size_min >= 1 && size_max >= size_min))
    throw std::invalid_argument("workload.size_min/size_max need 1 <= min <= max");
  if (senders == 0) throw std::invalid_argument("workload.senders must be >= 1");
  if (!(zipf_s >= 0)) throw std::invalid_argument("workload.zipf must be >= 0");
  if (!(fee_median > 0) || !(fee_sigma >= 0))
    throw std::invalid_argument("workload.fee_median must be > 0 and fee_sigma >= 0");
  if (gas_base < 0 || gas_per_byte < 0) throw std::invalid_argument("workload gas must be >= 0");
}

PoissonWorkload::PoissonWorkload(PoissonWorkloadOptions o, std::uint64_t seed)
    : o_(o), seed_(seed) {
  o_.validate();
  if (o_.zipf_s > 0) {
    sender_cdf_.resize(o_.senders);
    double acc = 0;
    for (std::uint32_t k = 0; k < o_.senders; ++k) {
      acc += 1.0 / std::pow(k + 1.0, o_.zipf_s);
      sender_cdf_[k] = acc;
    }
    for (double& c : sender_cdf_) c /= acc;
  }
  core::Rng rng(seed_, "workload.arrival", 0, 0);
  next_ = core::SimTime::from_seconds(rng.exponential(o_.rate));
}

std::uint32_t PoissonWorkload::draw_sender(double u) const {
  if (sender_cdf_.empty()) return static_cast<std::uint32_t>(u * o_.senders);
  auto it = std::upper_bound(sender_cdf_.begin(), sender_cdf_.end(), u);
  return static_cast<std::uint32_t>(
      std::min<std::ptrdiff_t>(it - sender_cdf_.begin(), o_.senders - 1));
}

// The size draw below, at its minimum: fixed sizes are size_mean; the other kinds are clamped to
// [size_min, size_max]; a size is at least 1 byte.
Workload::Smallest PoissonWorkload::smallest_tx() const {
  const double size = o_.size_dist == SizeDist::kFixed ? o_.size_mean : o_.size_min;
  const std::int64_t bytes = std::max<std::int64_t>(1, static_cast<std::int64_t>(size));
  return {o_.gas_base + o_.gas_per_byte * bytes, bytes};
}

void PoissonWorkload::advance_to(core::SimTime t, Ledger& ledger) {
  while (next_ <= t) {
    core::Rng rng(seed_, "workload", 0, nonce_);
    Transaction tx;
    tx.nonce = nonce_;
    tx.created = next_;
    tx.sender = draw_sender(rng.uniform());
    double size = o_.size_mean;
    if (o_.size_dist == SizeDist::kUniform)
      size = rng.uniform(o_.size_min, o_.size_max + 1);
    else if (o_.size_dist == SizeDist::kLognormal)
      size = rng.lognormal(std::log(o_.size_mean) - 0.5 * o_.size_sigma * o_.size_sigma,
                           o_.size_sigma);
    if (o_.size_dist != SizeDist::kFixed) size = std::clamp(size, o_.size_min, o_.size_max);
    tx.size = std::max<std::int64_t>(1, static_cast<std::int64_t>(size));
    tx.fee = std::max<std::int64_t>(
        1, std::llround(rng.lognormal(std::log(o_.fee_median), o_.fee_sigma)));
    tx.gas = o_.gas_base + o_.gas_per_byte * tx.size;
    tx.kind = 0;
    tx.payload_hash = generic_payload_hash(tx.nonce, tx.size);
    ledger.submit(tx);
    ++nonce_;
    core::Rng arr(seed_, "workload.arrival", 0, nonce_);
    next_ += core::SimTime::from_seconds(arr.exponential(o_.rate));
  }
}

}  // namespace ledgerfl::chain
