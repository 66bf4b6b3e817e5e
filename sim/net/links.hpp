// Link model: regions with a latency matrix and bandwidths, and per-message latency sampling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/rng.hpp"
#include "sim/core/time.hpp"

namespace ledgerfl::net {

// Nodes live in regions. latency_ms[i][j] is the mean one-way latency from region i to j;
// a link u->v transmits at min(upload[region u], download[region v]) (SimBlock's rule).
struct RegionModel {
  std::vector<std::string> names;
  std::vector<std::vector<double>> latency_ms;
  std::vector<double> upload_bps, download_bps;
  std::vector<double> share;  // fraction of nodes per region (sums to 1)

  std::size_t size() const { return names.size(); }
  // Throws std::invalid_argument naming the broken rule (shapes, positivity, shares sum to 1).
  void validate() const;
};

// SimBlock's 2019 six-region tables (Aoki et al., "SimBlock: A Blockchain Network Simulator",
// IEEE INFOCOM Workshops 2019; github.com/dsg-titech/simblock NetworkConfiguration.java):
// North America, Europe, South America, Asia-Pacific, Japan, Australia; Bitcoin node shares
// of 2019; bandwidths in bit/s.
RegionModel simblock_2019();
// One region with the given mean latency and symmetric bandwidth.
RegionModel single_region(double latency_ms, double bandwidth_bps);

// Classes of nodes by access bandwidth: a node belongs to class i with probability share[i]
// (one keyed stream per node) and gets that class's upload and download capacity (bit/s).
// Empty = every node takes the upload and download of its region.
struct BandwidthClasses {
  std::vector<std::string> names;
  std::vector<double> share, upload_bps, download_bps;
  std::size_t size() const { return names.size(); }
  bool empty() const { return names.empty(); }
  // Throws std::invalid_argument naming the broken rule (shapes, positivity, shares sum to 1).
  void validate() const;
};

// Per-message latency distribution around a link's mean latency.
enum class LatencyKind { kFixed, kNormal, kLognormal, kPareto };
std::string_view to_string(LatencyKind k);

struct LatencyOptions {
  LatencyKind kind = LatencyKind::kFixed;
  double cv = 0.1;        // normal: standard deviation / mean (truncated at 0)
  double sigma = 0.5;     // lognormal: sigma of log; mu chosen so the mean is preserved
  double shape = 5.0;     // pareto: alpha > 1; scale = mean (alpha - 1) / alpha keeps the mean
  core::SimTime jitter;   // uniform extra delay in [0, jitter)
  double loss = 0.0;      // probability that a transmission is lost
  void validate() const;  // throws std::invalid_argument
  // Draws one delay for a link with the given mean (ms).
  core::SimTime sample(double mean_ms, core::Rng& rng) const;
};

}  // namespace ledgerfl::net
