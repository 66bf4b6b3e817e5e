// Scalar distributions that scenario files use to describe populations (device speeds,
// bandwidths, dataset sizes): {type = "lognormal", median = ..., sigma = ...} and friends.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sim/core/rng.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::agents {

class Distribution {
 public:
  virtual ~Distribution() = default;
  virtual double sample(core::Rng& rng) const = 0;
  virtual double mean() const = 0;  // for documentation and sanity checks
  // Bounds of the support where the law has them (for checks such as "no client can ever meet
  // the deadline"); 0 and +infinity where it has none (normal, lognormal tails).
  virtual double lower_bound() const { return 0.0; }
  virtual double upper_bound() const;
};

// How a distribution's numeric parameters are written: plain numbers, or rates ("10Mbps").
enum class ValueKind { kNumber, kRate };

using DistributionFactory =
    std::function<std::unique_ptr<Distribution>(const scenario::ParamView&, ValueKind)>;
using DistributionRegistry = scenario::Registry<DistributionFactory>;

void register_builtin_distributions(DistributionRegistry& reg);

// A distribution that always gives v.
std::unique_ptr<Distribution> make_fixed(double v);

// Reads a distribution from p[key]: a table with `type`, or a bare value meaning "fixed".
std::unique_ptr<Distribution> read_distribution(const DistributionRegistry& reg,
                                                const scenario::ParamView& p, std::string_view key,
                                                ValueKind kind, const std::string& default_value);

}  // namespace ledgerfl::agents
