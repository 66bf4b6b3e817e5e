// Region tables (SimBlock 2019) and latency distributions.
#include "sim/net/links.hpp"

#include <cmath>
#include <stdexcept>

namespace ledgerfl::net {

void RegionModel::validate() const {
  const std::size_t r = names.size();
  if (r == 0) throw std::invalid_argument("regions: at least one region is needed");
  if (latency_ms.size() != r || upload_bps.size() != r || download_bps.size() != r ||
      share.size() != r)
    throw std::invalid_argument("regions: latency_ms must be " + std::to_string(r) + "x" +
                                std::to_string(r) + " and upload/download/share must have " +
                                std::to_string(r) + " entries");
  double sum = 0;
  for (std::size_t i = 0; i < r; ++i) {
    if (latency_ms[i].size() != r)
      throw std::invalid_argument("regions: latency_ms row " + std::to_string(i) + " must have " +
                                  std::to_string(r) + " entries");
    for (double l : latency_ms[i])
      if (!(l >= 0)) throw std::invalid_argument("regions: latencies must be >= 0 ms");
    if (!(upload_bps[i] > 0) || !(download_bps[i] > 0))
      throw std::invalid_argument("regions: bandwidths must be > 0 bit/s");
    if (!(share[i] >= 0)) throw std::invalid_argument("regions: shares must be >= 0");
    sum += share[i];
  }
  if (std::abs(sum - 1.0) > 1e-6)
    throw std::invalid_argument("regions: shares must sum to 1 (they sum to " +
                                std::to_string(sum) + ")");
}

void BandwidthClasses::validate() const {
  const std::size_t c = names.size();
  if (c == 0) throw std::invalid_argument("bandwidth: at least one class is needed");
  if (share.size() != c || upload_bps.size() != c || download_bps.size() != c)
    throw std::invalid_argument("bandwidth: share, upload and download must have " +
                                std::to_string(c) + " entries (one per name)");
  double sum = 0;
  for (std::size_t i = 0; i < c; ++i) {
    if (!(upload_bps[i] > 0) || !(download_bps[i] > 0))
      throw std::invalid_argument("bandwidth: upload and download must be > 0 bit/s");
    if (!(share[i] >= 0)) throw std::invalid_argument("bandwidth: shares must be >= 0");
    sum += share[i];
  }
  if (std::abs(sum - 1.0) > 1e-6)
    throw std::invalid_argument("bandwidth: shares must sum to 1 (they sum to " +
                                std::to_string(sum) + ")");
}

RegionModel simblock_2019() {
  RegionModel m;
  m.names = {"north_america", "europe", "south_america", "asia_pacific", "japan", "australia"};
  m.latency_ms = {{32, 124, 184, 198, 151, 189}, {124, 11, 227, 237, 252, 294},
                  {184, 227, 88, 325, 301, 322}, {198, 237, 325, 85, 58, 198},
                  {151, 252, 301, 58, 12, 126},  {189, 294, 322, 198, 126, 16}};
  m.download_bps = {52e6, 40e6, 18e6, 22.8e6, 22.8e6, 29.9e6};
  m.upload_bps = {19.2e6, 20.7e6, 5.8e6, 15.7e6, 10.2e6, 11.3e6};
  m.share = {0.3316, 0.4998, 0.0090, 0.1177, 0.0224, 0.0195};
  return m;
}

RegionModel single_region(double latency_ms, double bandwidth_bps) {
  RegionModel m;
  m.names = {"region0"};
  m.latency_ms = {{latency_ms}};
  m.upload_bps = {bandwidth_bps};
  m.download_bps = {bandwidth_bps};
  m.share = {1.0};
  return m;
}

std::string_view to_string(LatencyKind k) {
  switch (k) {
    case LatencyKind::kFixed:
      return "fixed";
    case LatencyKind::kNormal:
      return "normal";
    case LatencyKind::kLognormal:
      return "lognormal";
    case LatencyKind::kPareto:
      return "pareto";
  }
  return "?";
}

void LatencyOptions::validate() const {
  if (!(cv >= 0)) throw std::invalid_argument("latency.cv must be >= 0");
  if (!(sigma >= 0)) throw std::invalid_argument("latency.sigma must be >= 0");
  if (!(shape > 1)) throw std::invalid_argument("latency.shape must be > 1 (finite mean)");
  if (!(loss >= 0 && loss < 1)) throw std::invalid_argument("latency.loss must be in [0, 1)");
  if (jitter < core::SimTime{}) throw std::invalid_argument("latency.jitter must be >= 0");
}

core::SimTime LatencyOptions::sample(double mean_ms, core::Rng& rng) const {
  double ms = mean_ms;
  if (mean_ms > 0) {
    switch (kind) {
      case LatencyKind::kFixed:
        break;
      case LatencyKind::kNormal:
        ms = std::max(0.0, rng.normal(mean_ms, cv * mean_ms));
        break;
      case LatencyKind::kLognormal:
        ms = rng.lognormal(std::log(mean_ms) - 0.5 * sigma * sigma, sigma);
        break;
      case LatencyKind::kPareto:
        ms = rng.pareto(mean_ms * (shape - 1) / shape, shape);
        break;
    }
  }
  core::SimTime t = core::SimTime::from_seconds(ms * 1e-3);
  if (jitter > core::SimTime{})
    t += core::SimTime::ns(
        static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(jitter.count_ns()))));
  return t;
}

}  // namespace ledgerfl::net
