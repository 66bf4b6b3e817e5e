// Network registries (topologies, region tables, latency distributions) and the [network]
// table reader.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "sim/core/engine.hpp"
#include "sim/net/links.hpp"
#include "sim/net/network.hpp"
#include "sim/net/topology.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::net {

// Builds the overlay over n nodes from [network.topology].
using TopologyFactory =
    std::function<Graph(const scenario::ParamView& p, std::uint32_t n, std::uint64_t seed)>;
// Builds the region tables from [network.regions].
using RegionFactory = std::function<RegionModel(const scenario::ParamView& p)>;
// Builds the per-node bandwidth classes from [network.bandwidth] (empty = per region).
using BandwidthFactory = std::function<BandwidthClasses(const scenario::ParamView& p)>;
// Reads a latency distribution from [network.latency].
using LatencyFactory = std::function<LatencyOptions(const scenario::ParamView& p)>;

struct NetRegistries {
  scenario::Registry<TopologyFactory> topologies{"topology", "[network.topology] type = ..."};
  scenario::Registry<RegionFactory> regions{"regions", "[network.regions] type = ..."};
  scenario::Registry<LatencyFactory> latency{"latency", "[network.latency] type = ..."};
  scenario::Registry<BandwidthFactory> bandwidth{"bandwidth", "[network.bandwidth] type = ..."};
};

void register_builtin_net(NetRegistries& r);
void add_to_catalog(const NetRegistries& r, scenario::Catalog& c);

// Reads every key of [network] (and its sub-tables) into options + overlay graph. Rule
// violations become scenario::InputError positioned at the key.
struct NetworkSpec {
  NetworkOptions options;
  Graph overlay;
};
NetworkSpec read_network(const scenario::ParamView& net, std::uint64_t seed,
                         const NetRegistries& regs);

// Documentation of the keys read directly by read_network (for the README / `ledgerfl list`).
std::vector<scenario::ParamDoc> network_table_docs();

}  // namespace ledgerfl::net
