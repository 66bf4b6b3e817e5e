// Registrations of the robust aggregation rules, one file each in sim/fl/aggregators/ (called
// from register_builtin_aggregators in sim/fl/aggregator.cpp).
#pragma once

#include "sim/fl/aggregator.hpp"

namespace ledgerfl::fl::aggs {

void register_krum(AggregatorRegistry& reg);  // krum and multi_krum
void register_median(AggregatorRegistry& reg);
void register_trimmed_mean(AggregatorRegistry& reg);
void register_bulyan(AggregatorRegistry& reg);
void register_centered_clipping(AggregatorRegistry& reg);
void register_norm_bound(AggregatorRegistry& reg);
void register_geometric_median(AggregatorRegistry& reg);
void register_foolsgold(AggregatorRegistry& reg);
void register_fltrust(AggregatorRegistry& reg);
void register_dnc(AggregatorRegistry& reg);
void register_flame(AggregatorRegistry& reg);
void register_signguard(AggregatorRegistry& reg);
void register_bucketing(AggregatorRegistry& reg);  // meta-rule: an inner rule on bucket means

}  // namespace ledgerfl::fl::aggs
