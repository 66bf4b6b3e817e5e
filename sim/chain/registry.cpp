// Registration of the built-in consensus engines and workloads: one line per component.
#include "sim/chain/registry.hpp"

#include <array>

#include <fmt/core.h>

namespace ledgerfl::chain {

// Each engine lives in its own file and registers itself through one function.
void register_pow(ConsensusRegistry& r);
void register_poa(ConsensusRegistry& r);
void register_pos(ConsensusRegistry& r);
void register_bft(ConsensusRegistry& r);

void check_slots_per_run(const scenario::ParamView& p, std::string_view key, core::SimTime interval,
                         core::SimTime duration) {
  constexpr double kMax = 1e7;
  const double n = duration.seconds() / interval.seconds();
  if (n > kMax)
    p.fail(key, fmt::format("= {} gives simulation.duration / {} = {:.3g} blocks or slots, more "
                            "than the bound of {:.0g} per run (simulation.duration = {})",
                            core::to_string(interval), key, n, kMax, core::to_string(duration)));
}

void register_builtin_chain(ChainRegistries& r) {
  register_pow(r.consensus);
  register_poa(r.consensus);
  register_pos(r.consensus);
  register_bft(r.consensus);

  r.workloads.add(
      {"poisson",
       "Poisson transaction arrivals with size, sender (uniform or Zipf) and fee distributions; "
       "gas = 21000 + 16/byte (Ethereum Yellow Paper intrinsic cost)",
       {{"rate", "float", "1.0", "tx/s", "mean arrival rate"},
        {"size", "size", "250", "bytes", "mean transaction size"},
        {"size_dist", "string", "lognormal", "", "'fixed', 'uniform' or 'lognormal'"},
        {"size_sigma", "float", "0.5", "", "lognormal sigma of log(size)"},
        {"size_min", "size", "100", "bytes", "lower clamp (uniform: lower bound)"},
        {"size_max", "size", "1000", "bytes", "upper clamp (uniform: upper bound)"},
        {"senders", "int", "1000", "", "number of sending accounts"},
        {"zipf", "float", "0.0", "", "Zipf exponent of sender popularity (0 = uniform)"},
        {"fee_median", "float", "10", "gwei/gas", "median fee per gas unit"},
        {"fee_sigma", "float", "0.5", "", "lognormal sigma of fees"},
        {"gas_base", "int", "21000", "gas", "intrinsic gas per transaction"},
        {"gas_per_byte", "int", "16", "gas", "gas per payload byte"}}},
      [](const scenario::ParamView& p, std::uint64_t seed) -> std::unique_ptr<Workload> {
        using B = scenario::Bounds;
        PoissonWorkloadOptions o;
        o.rate = p.number("rate", 1.0, B::positive());
        o.size_mean = static_cast<double>(p.size("size", 250));
        static constexpr std::array<std::string_view, 3> kDist = {"fixed", "uniform", "lognormal"};
        const std::string d = p.choice("size_dist", kDist, "lognormal");
        o.size_dist = d == "fixed"     ? SizeDist::kFixed
                      : d == "uniform" ? SizeDist::kUniform
                                       : SizeDist::kLognormal;
        o.size_sigma = p.number("size_sigma", 0.5, B::non_negative());
        o.size_min = static_cast<double>(p.size("size_min", 100));
        o.size_max = static_cast<double>(p.size("size_max", 1000));
        o.senders = static_cast<std::uint32_t>(p.integer("senders", 1000, B::between(1, 1e9)));
        o.zipf_s = p.number("zipf", 0.0, B::non_negative());
        o.fee_median = p.number("fee_median", 10.0, B::positive());
        o.fee_sigma = p.number("fee_sigma", 0.5, B::non_negative());
        o.gas_base = p.integer("gas_base", 21000, B::non_negative());
        o.gas_per_byte = p.integer("gas_per_byte", 16, B::non_negative());
        try {
          o.validate();
        } catch (const std::invalid_argument& e) {
          p.fail("size", e.what());
        }
        return std::make_unique<PoissonWorkload>(o, seed);
      });
  r.workloads.add({"none", "no transactions (empty blocks)", {}},
                  [](const scenario::ParamView&, std::uint64_t) -> std::unique_ptr<Workload> {
                    return std::make_unique<NoWorkload>();
                  });
}

void add_to_catalog(const ChainRegistries& r, scenario::Catalog& c) {
  c.add(r.consensus);
  c.add(r.workloads);
}

std::vector<scenario::ParamDoc> chain_table_docs() {
  return {
      {"simulation.duration", "duration", "1h", "s", "simulated time to run"},
      {"simulation.metrics_interval", "duration", "60s", "s", "one /rounds row per interval"},
      {"chain.gas_limit", "int", "30000000", "gas", "block gas limit"},
      {"chain.max_block_bytes", "size", "1000000", "bytes", "block size limit (with header)"},
      {"chain.header_bytes", "size", "80", "bytes", "block header size on the wire"},
      {"chain.consensus", "table", "{type = \"poa\"}", "", "consensus engine (see consensus)"},
      {"workload", "table", "{type = \"poisson\"}", "", "background transactions (see workload)"},
  };
}

}  // namespace ledgerfl::chain
