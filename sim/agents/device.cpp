// Device profiles drawn lazily per client, and Bernoulli / Markov on-off availability.
#include "sim/agents/device.hpp"

#include <cmath>

namespace ledgerfl::agents {

DeviceOptions read_device_options(const scenario::ParamView& p, const DistributionRegistry& reg) {
  DeviceOptions o;
  o.flops = read_distribution(reg, p, "flops", ValueKind::kNumber, "1e9");
  o.upload = read_distribution(reg, p, "upload", ValueKind::kRate, "10Mbps");
  o.download = read_distribution(reg, p, "download", ValueKind::kRate, "50Mbps");
  o.latency_s = std::unique_ptr<Distribution>();
  {
    // Latency is a duration; a table means a distribution of seconds.
    if (p.is_table("latency")) {
      const scenario::ParamView t = p.table("latency");
      o.latency_s = reg.get(t, "type").factory(t, ValueKind::kNumber);
    } else {
      o.latency_s = make_fixed(p.duration("latency", core::SimTime::ms(50)).seconds());
    }
  }
  static constexpr std::string_view kKinds[] = {"always", "bernoulli", "markov"};
  if (p.has("availability") && !p.is_table("availability"))
    p.fail("availability", "expected a table such as {type = \"bernoulli\", p_online = 0.8}");
  const auto av = p.table("availability");
  const std::string kind = av.choice("type", kKinds, "always");
  // Settings under which no client can ever contribute are errors, not runs.
  auto read_p_online = [&] {
    const double v = av.number("p_online", 0.8, scenario::Bounds::probability());
    if (v == 0.0)
      av.fail("p_online",
              "= 0: no client is ever online, so no round can include an update "
              "(must be in (0, 1])");
    return v;
  };
  if (kind == "bernoulli") {
    o.availability.kind = AvailabilityOptions::Kind::kBernoulli;
    o.availability.p_online = read_p_online();
  } else if (kind == "markov") {
    o.availability.kind = AvailabilityOptions::Kind::kMarkov;
    o.availability.p_online = read_p_online();
    o.availability.persistence = av.number("persistence", 0.8, {0.0, 1.0, false, true});
  }
  o.crash_probability = p.number("crash_probability", 0.0, scenario::Bounds::probability());
  if (o.crash_probability == 1.0)
    p.fail("crash_probability",
           "= 1: every selected client crashes, so no round can include an "
           "update (must be in [0, 1))");
  return o;
}

Population::Population(std::size_t clients, std::uint64_t seed, DeviceOptions opts)
    : seed_(seed), opts_(std::move(opts)), state_(clients) {}

DeviceProfile Population::profile(std::size_t client) const {
  core::Rng r(seed_, "device", client);
  DeviceProfile d;
  d.flops = opts_.flops->sample(r);
  d.upload_bps = opts_.upload->sample(r);
  d.download_bps = opts_.download->sample(r);
  d.latency_s = opts_.latency_s->sample(r);
  return d;
}

bool Population::online(std::size_t client, std::int64_t round) {
  const auto& a = opts_.availability;
  switch (a.kind) {
    case AvailabilityOptions::Kind::kAlways:
      return true;
    case AvailabilityOptions::Kind::kBernoulli:
      return core::Rng(seed_, "availability", client, static_cast<std::uint64_t>(round))
          .bernoulli(a.p_online);
    case AvailabilityOptions::Kind::kMarkov: {
      // Two-state chain with stationary probability pi and second eigenvalue lambda:
      // P(on at r+k | on at r) = pi + (1 - pi) lambda^k, P(on at r+k | off at r) = pi (1 -
      // lambda^k).
      ClientState& s = state_[client];
      core::Rng r(seed_, "availability", client, static_cast<std::uint64_t>(round));
      const double pi = a.p_online;
      double p_on;
      if (s.last_round < 0) {
        p_on = pi;  // first observation: stationary
      } else {
        const double lk = std::pow(a.persistence, static_cast<double>(round - s.last_round));
        p_on = s.on ? pi + (1.0 - pi) * lk : pi * (1.0 - lk);
      }
      s.on = r.bernoulli(p_on) ? 1 : 0;
      s.last_round = static_cast<std::int32_t>(round);
      return s.on != 0;
    }
  }
  return true;
}

bool Population::crashes(std::size_t client, std::int64_t round) const {
  if (opts_.crash_probability <= 0.0) return false;
  return core::Rng(seed_, "crash", client, static_cast<std::uint64_t>(round))
      .bernoulli(opts_.crash_probability);
}

}  // namespace ledgerfl::agents
