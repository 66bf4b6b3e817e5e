// Background transaction workloads that keep a chain busy without any learning.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "sim/core/time.hpp"

namespace ledgerfl::chain {

class Ledger;

// Generates transactions lazily: the block builder asks for everything created up to now, so a
// workload costs no engine events. Draws come from Rng(seed, "workload", 0, nonce).
class Workload {
 public:
  virtual ~Workload() = default;
  virtual void advance_to(core::SimTime t, Ledger& ledger) = 0;
  virtual std::uint64_t generated() const = 0;
  // Mean arrivals per simulated second (0 = none), for the bound on transactions per run.
  virtual double mean_rate() const { return 0.0; }
  // The smallest transaction the workload can draw (gas, bytes); {0, 0} = it draws none. A
  // block limit below it could never include a transaction (ChainSimulation::build rejects it).
  struct Smallest {
    std::int64_t gas = 0, bytes = 0;
  };
  virtual Smallest smallest_tx() const { return {}; }
};

enum class SizeDist { kFixed, kUniform, kLognormal };
std::string_view to_string(SizeDist d);

// Poisson arrivals (rate tx/s) of generic payload transactions. Gas follows Ethereum's intrinsic
// cost: 21000 + 16 gas per payload byte (Yellow Paper, G_transaction and G_txdatanonzero).
struct PoissonWorkloadOptions {
  double rate = 1.0;  // transactions per second
  SizeDist size_dist = SizeDist::kLognormal;
  double size_mean = 250;                  // bytes (Bitcoin's average transaction is ~250 B)
  double size_sigma = 0.5;                 // lognormal sigma of log(size)
  double size_min = 100, size_max = 1000;  // uniform bounds; also clamps the other kinds
  std::uint32_t senders = 1000;
  double zipf_s = 0.0;       // sender popularity exponent (0 = uniform)
  double fee_median = 10.0;  // price per gas unit (gwei)
  double fee_sigma = 0.5;    // lognormal sigma of fees
  std::int64_t gas_base = 21'000;
  std::int64_t gas_per_byte = 16;
  void validate() const;  // throws std::invalid_argument
};

class PoissonWorkload final : public Workload {
 public:
  PoissonWorkload(PoissonWorkloadOptions o, std::uint64_t seed);
  void advance_to(core::SimTime t, Ledger& ledger) override;
  std::uint64_t generated() const override { return nonce_; }
  double mean_rate() const override { return o_.rate; }
  Smallest smallest_tx() const override;

 private:
  std::uint32_t draw_sender(double u) const;
  PoissonWorkloadOptions o_;
  std::uint64_t seed_;
  std::uint64_t nonce_ = 0;
  core::SimTime next_;
  std::vector<double> sender_cdf_;  // zipf only
};

// No transactions: empty blocks.
class NoWorkload final : public Workload {
 public:
  void advance_to(core::SimTime, Ledger&) override {}
  std::uint64_t generated() const override { return 0; }
};

}  // namespace ledgerfl::chain
