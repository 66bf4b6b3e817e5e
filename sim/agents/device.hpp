// Device and availability models of clients: compute speed, link bandwidths, on/off behaviour,
// crashes during training. Profiles are drawn lazily from keyed streams, so a registered client
// costs nothing until it is selected (DESIGN.md: memory grows with the round).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sim/agents/distribution.hpp"
#include "sim/core/time.hpp"

namespace ledgerfl::agents {

struct DeviceProfile {
  double flops = 1e9;         // sustained FLOP/s of local training
  double upload_bps = 1e7;    // bit/s
  double download_bps = 5e7;  // bit/s
  double latency_s = 0.05;    // one-way latency to the coordinator, s
};

// Availability of a client at a round (FL literature: Bernoulli participation, or the two-state
// Markov on/off model of e.g. Ribero et al. 2022, "Federated learning under intermittent client
// availability and time-varying communication constraints").
struct AvailabilityOptions {
  enum class Kind { kAlways, kBernoulli, kMarkov };
  Kind kind = Kind::kAlways;
  double p_online = 1.0;     // Bernoulli probability / Markov stationary probability of "on"
  double persistence = 0.8;  // Markov: lag-1 autocorrelation lambda of the on/off state, in
                             // [0, 1). P(on->off) = (1-lambda)(1-p), P(off->on) = (1-lambda)p.
};

struct DeviceOptions {
  std::unique_ptr<Distribution> flops, upload, download, latency_s;
  AvailabilityOptions availability;
  double crash_probability = 0.0;  // a selected client dies during training (never answers)
};

// Reads [devices] (all keys optional; defaults = a homogeneous fast population).
DeviceOptions read_device_options(const scenario::ParamView& p, const DistributionRegistry& reg);

class Population {
 public:
  Population(std::size_t clients, std::uint64_t seed, DeviceOptions opts);

  std::size_t size() const { return state_.size(); }
  // Deterministic per (seed, client): the same profile every time it is asked for.
  DeviceProfile profile(std::size_t client) const;
  // Whether the client is online in round `round` (rounds are asked in increasing order per
  // client; the Markov chain is advanced in closed form over skipped rounds).
  bool online(std::size_t client, std::int64_t round);
  // Whether the client crashes during its training in `round` (keyed draw).
  bool crashes(std::size_t client, std::int64_t round) const;
  const DeviceOptions& options() const { return opts_; }

 private:
  struct ClientState {  // 8 bytes per registered client
    std::int32_t last_round = -1;
    std::uint8_t on = 1;
  };
  std::uint64_t seed_;
  DeviceOptions opts_;
  std::vector<ClientState> state_;
};

}  // namespace ledgerfl::agents
