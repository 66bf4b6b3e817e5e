// Built-in topologies, region tables and latency distributions; the [network] reader.
#include "sim/net/registry.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace ledgerfl::net {

namespace {
using scenario::Bounds;
using scenario::ParamView;

std::uint32_t to_u32(std::int64_t v) {
  return static_cast<std::uint32_t>(v);
}

// Runs `fn`, turning std::invalid_argument into an InputError at table `p`, key `key`.
template <class F>
auto guarded(const ParamView& p, std::string_view key, F&& fn) {
  try {
    return fn();
  } catch (const std::invalid_argument& e) {
    p.fail(key, e.what());
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const scenario::InputError*>(&e)) throw;
    p.fail(key, e.what());
  }
}
}  // namespace

void register_builtin_net(NetRegistries& r) {
  r.topologies.add(
      {"complete", "every pair of nodes connected (consortium meshes)", {}},
      [](const ParamView&, std::uint32_t n, std::uint64_t) { return complete_graph(n); });
  r.topologies.add(
      {"random_regular",
       "random d-regular graph, pairing model (Bollobas 1980); Bitcoin Core keeps 8 outbound "
       "peers",
       {{"degree", "int", "8", "", "neighbours per node (n*degree even, degree < n)"}}},
      [](const ParamView& p, std::uint32_t n, std::uint64_t seed) {
        auto d = p.integer("degree", 8, Bounds::at_least(1));
        if (d >= n || (static_cast<std::int64_t>(n) * d) % 2 != 0)
          p.fail("degree", "= " + std::to_string(d) + " needs degree < n and n*degree even (n = " +
                               std::to_string(n) + ")");
        return random_regular(n, to_u32(d), seed);
      });
  r.topologies.add(
      {"erdos_renyi",
       "G(n, p) random graph (Erdos & Renyi 1959), Boost.Graph sorted_erdos_renyi_iterator",
       {{"p", "float", "", "", "edge probability in (0, 1]"}}},
      [](const ParamView& p, std::uint32_t n, std::uint64_t seed) {
        double prob = p.number("p", std::nullopt, {0.0, 1.0, true, false});
        return erdos_renyi(n, prob, seed);
      });
  r.topologies.add({"barabasi_albert",
                    "preferential attachment, scale-free degrees (Barabasi & Albert 1999)",
                    {{"m", "int", "4", "", "edges added per new node (m < n)"}}},
                   [](const ParamView& p, std::uint32_t n, std::uint64_t seed) {
                     auto m = p.integer("m", 4, Bounds::at_least(1));
                     if (m >= n)
                       p.fail("m",
                              "= " + std::to_string(m) + " must be < n = " + std::to_string(n));
                     return barabasi_albert(n, to_u32(m), seed);
                   });
  r.topologies.add(
      {"watts_strogatz",
       "small world: ring lattice rewired with probability beta (Watts & Strogatz 1998), "
       "Boost.Graph small_world_iterator",
       {{"k", "int", "8", "", "ring neighbours per node (even, < n)"},
        {"beta", "float", "0.1", "", "rewiring probability"}}},
      [](const ParamView& p, std::uint32_t n, std::uint64_t seed) {
        auto k = p.integer("k", 8, Bounds::at_least(2));
        double beta = p.number("beta", 0.1, Bounds::probability());
        if (k % 2 != 0 || k >= n)
          p.fail("k", "= " + std::to_string(k) + " must be even and < n = " + std::to_string(n));
        return watts_strogatz(n, to_u32(k), beta, seed);
      });
  r.topologies.add(
      {"edge_list",
       "explicit undirected edges from a text file, one 'u v' pair per line ('#' comments)",
       {{"file", "string", "", "", "path of the edge list (relative to the working directory)"}}},
      [](const ParamView& p, std::uint32_t n, std::uint64_t) {
        std::string path = p.string("file", std::nullopt);
        return guarded(p, "file", [&] { return edge_list_file(path, n); });
      });

  r.regions.add({"simblock_2019",
                 "six regions with SimBlock's 2019 latency matrix, bandwidths and Bitcoin node "
                 "shares (Aoki et al. 2019)",
                 {}},
                [](const ParamView&) { return simblock_2019(); });
  r.regions.add({"single",
                 "one region: every link has the same mean latency and bandwidth",
                 {{"latency", "duration", "50ms", "s", "mean one-way link latency"},
                  {"bandwidth", "rate", "100Mbps", "bit/s", "link bandwidth"}}},
                [](const ParamView& p) {
                  auto lat = p.duration("latency", core::SimTime::ms(50));
                  double bw = p.rate("bandwidth", 100e6);
                  return single_region(lat.seconds() * 1e3, bw);
                });
  r.regions.add({"custom",
                 "explicit regions: names, shares, latency matrix (ms, row-major) and bandwidths",
                 {{"names", "list<string>", "", "", "region names"},
                  {"share", "list<float>", "", "", "fraction of nodes per region (sums to 1)"},
                  {"latency_ms", "list<float>", "", "ms", "row-major r x r mean latency matrix"},
                  {"upload", "list<float>", "", "bit/s", "upload bandwidth per region"},
                  {"download", "list<float>", "", "bit/s", "download bandwidth per region"}}},
                [](const ParamView& p) {
                  RegionModel m;
                  m.names = p.string_list("names", std::nullopt);
                  m.share = p.number_list("share", std::nullopt, Bounds::probability());
                  auto flat = p.number_list("latency_ms", std::nullopt, Bounds::non_negative());
                  const std::size_t r = m.names.size();
                  if (flat.size() != r * r)
                    p.fail("latency_ms", "needs " + std::to_string(r * r) + " entries (" +
                                             std::to_string(r) + " x " + std::to_string(r) +
                                             "), got " + std::to_string(flat.size()));
                  for (std::size_t i = 0; i < r; ++i)
                    m.latency_ms.emplace_back(
                        flat.begin() + static_cast<std::ptrdiff_t>(i * r),
                        flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * r));
                  m.upload_bps = p.number_list("upload", std::nullopt, Bounds::positive());
                  m.download_bps = p.number_list("download", std::nullopt, Bounds::positive());
                  guarded(p, "names", [&] {
                    m.validate();
                    return 0;
                  });
                  return m;
                });

  r.bandwidth.add({"regions",
                   "every node takes the upload and download bandwidth of its region "
                   "([network.regions])",
                   {}},
                  [](const ParamView&) { return BandwidthClasses{}; });
  r.bandwidth.add(
      {"classes",
       "classes of nodes by access link: a node joins class i with probability share[i] and "
       "gets its upload and download capacity",
       {{"names", "list<string>", "", "", "class names"},
        {"share", "list<float>", "", "", "fraction of nodes per class (sums to 1)"},
        {"upload", "list<float>", "", "bit/s", "upload capacity per class"},
        {"download", "list<float>", "", "bit/s", "download capacity per class"}}},
      [](const ParamView& p) {
        BandwidthClasses c;
        c.names = p.string_list("names", std::nullopt);
        c.share = p.number_list("share", std::nullopt, Bounds::probability());
        c.upload_bps = p.number_list("upload", std::nullopt, Bounds::positive());
        c.download_bps = p.number_list("download", std::nullopt, Bounds::positive());
        guarded(p, "share", [&] {
          c.validate();
          return 0;
        });
        return c;
      });

  const std::vector<scenario::ParamDoc> common = {
      {"jitter", "duration", "0ms", "s", "uniform extra delay in [0, jitter)"},
      {"loss", "float", "0.0", "", "probability that a transmission is lost"}};
  auto common_read = [](const ParamView& p, LatencyOptions& o) {
    o.jitter = p.duration("jitter", core::SimTime{});
    o.loss = p.number("loss", 0.0, {0.0, 1.0, false, true});
  };
  r.latency.add({"fixed", "every message takes the link's mean latency", common},
                [common_read](const ParamView& p) {
                  LatencyOptions o;
                  o.kind = LatencyKind::kFixed;
                  common_read(p, o);
                  return o;
                });
  auto docs_with = [&](scenario::ParamDoc extra) {
    auto d = common;
    d.insert(d.begin(), std::move(extra));
    return d;
  };
  r.latency.add({"normal", "normal around the link mean, truncated at 0",
                 docs_with({"cv", "float", "0.1", "", "standard deviation / mean"})},
                [common_read](const ParamView& p) {
                  LatencyOptions o;
                  o.kind = LatencyKind::kNormal;
                  o.cv = p.number("cv", 0.1, Bounds::non_negative());
                  common_read(p, o);
                  return o;
                });
  r.latency.add(
      {"lognormal", "log-normal with the link mean preserved (heavy-tailed Internet RTTs)",
       docs_with({"sigma", "float", "0.5", "", "sigma of log(delay)"})},
      [common_read](const ParamView& p) {
        LatencyOptions o;
        o.kind = LatencyKind::kLognormal;
        o.sigma = p.number("sigma", 0.5, Bounds::non_negative());
        common_read(p, o);
        return o;
      });
  r.latency.add({"pareto",
                 "Pareto with the link mean preserved, as SimBlock samples latencies (Aoki et "
                 "al. 2019)",
                 docs_with({"shape", "float", "5.0", "", "tail index alpha (> 1)"})},
                [common_read](const ParamView& p) {
                  LatencyOptions o;
                  o.kind = LatencyKind::kPareto;
                  o.shape = p.number("shape", 5.0, {1.0, std::nullopt, true, false});
                  common_read(p, o);
                  return o;
                });
}

void add_to_catalog(const NetRegistries& r, scenario::Catalog& c) {
  c.add(r.topologies);
  c.add(r.regions);
  c.add(r.latency);
  c.add(r.bandwidth);
}

std::vector<scenario::ParamDoc> network_table_docs() {
  return {
      {"validators", "int", "16", "", "consensus nodes (miners / validators), ids 0..n-1"},
      {"clients", "int", "0", "", "client nodes, ids after the validators"},
      {"client_attach", "string", "validators", "",
       "'validators': each client links to client_degree random validators; 'overlay': "
       "clients are nodes of the generated topology"},
      {"client_degree", "int", "1", "", "validators per client (client_attach = validators)"},
      {"relay_delay", "duration", "0ms", "s", "per-hop processing delay before gossip relay"},
      {"partition_mode", "string", "drop", "",
       "messages across a partition: 'drop' (lost) or 'queue' (sent when it heals)"},
      {"bandwidth_model", "string", "per_node", "",
       "'per_link': each link sends one message after another at min(up u, down v); "
       "'per_node': each node's uplink sends, and its downlink receives, one transfer at a "
       "time (FIFO), shared by all its links"},
      {"gossip", "string", "flood", "",
       "'flood': full copies to every neighbour but the sender; 'announce': inv/getdata, a "
       "node requests a message once, from its first announcer, after a 2-latency round trip"},
      {"topology", "table", "{type = \"complete\"}", "", "overlay generator (see topology)"},
      {"regions", "table", "{type = \"simblock_2019\"}", "", "region tables (see regions)"},
      {"latency", "table", "{type = \"fixed\"}", "", "per-message latency (see latency)"},
      {"bandwidth", "table", "{type = \"regions\"}", "",
       "per-node upload/download capacities (see bandwidth)"},
      {"client_bandwidth", "table", "(as bandwidth)", "",
       "the client nodes' capacities, when they differ from the validators' (see bandwidth)"},
      {"crash", "array of tables", "[]", "",
       "[[network.crash]] node = id, at = duration, recover = duration (optional)"},
      {"partition", "array of tables", "[]", "",
       "[[network.partition]] start, end (durations) and side = [ids] or fraction = x "
       "(the first x*validators validators) against the rest"},
  };
}

NetworkSpec read_network(const ParamView& net, std::uint64_t seed, const NetRegistries& regs) {
  NetworkSpec spec;
  NetworkOptions& o = spec.options;
  o.validators = to_u32(net.integer("validators", 16, Bounds::between(1, 1e7)));
  o.clients = to_u32(net.integer("clients", 0, Bounds::between(0, 1e7)));
  static constexpr std::array<std::string_view, 2> kAttach = {"validators", "overlay"};
  o.client_attach = net.choice("client_attach", kAttach, "validators") == "overlay"
                        ? ClientAttach::kOverlay
                        : ClientAttach::kValidators;
  o.client_degree = to_u32(net.integer("client_degree", 1, Bounds::at_least(1)));
  if (o.client_attach == ClientAttach::kValidators && o.clients > 0 &&
      o.client_degree > o.validators)
    net.fail("client_degree", "= " + std::to_string(o.client_degree) +
                                  " must be <= validators = " + std::to_string(o.validators));
  o.relay_delay = net.duration("relay_delay", core::SimTime{});
  static constexpr std::array<std::string_view, 2> kModes = {"drop", "queue"};
  o.partition_mode = net.choice("partition_mode", kModes, "drop") == "queue" ? PartitionMode::kQueue
                                                                             : PartitionMode::kDrop;
  static constexpr std::array<std::string_view, 2> kBw = {"per_link", "per_node"};
  o.bandwidth_model = net.choice("bandwidth_model", kBw, "per_node") == "per_node"
                          ? BandwidthModel::kPerNode
                          : BandwidthModel::kPerLink;
  static constexpr std::array<std::string_view, 2> kGossip = {"flood", "announce"};
  o.gossip = net.choice("gossip", kGossip, "flood") == "announce" ? GossipMode::kAnnounce
                                                                  : GossipMode::kFlood;
  ParamView bw = net.table("bandwidth");
  o.bandwidth = regs.bandwidth.get(bw, "type", "regions").factory(bw);
  if (net.has("client_bandwidth")) {
    ParamView cb = net.table("client_bandwidth");
    o.client_bandwidth = regs.bandwidth.get(cb, "type", "regions").factory(cb);
    o.own_client_bandwidth = true;
  }
  ParamView reg = net.table("regions");
  o.regions = regs.regions.get(reg, "type", "simblock_2019").factory(reg);
  ParamView lat = net.table("latency");
  o.latency = regs.latency.get(lat, "type", "fixed").factory(lat);
  for (const ParamView& c : net.table_array("crash")) {
    Crash cr;
    cr.node = to_u32(c.integer("node", std::nullopt, Bounds::between(0, o.nodes() - 1.0)));
    cr.at = c.duration("at", std::nullopt);
    if (c.has("recover")) {
      cr.recover = c.duration("recover", std::nullopt);
      if (cr.recover <= cr.at) c.fail("recover", "must be later than at");
    }
    o.crashes.push_back(cr);
  }
  for (const ParamView& p : net.table_array("partition")) {
    Partition part;
    part.start = p.duration("start", std::nullopt);
    part.end = p.duration("end", std::nullopt);
    if (part.end <= part.start) p.fail("end", "must be later than start");
    if (p.has("side")) {
      for (auto v : p.integer_list("side", std::nullopt, Bounds::between(0, o.nodes() - 1.0)))
        part.side.push_back(to_u32(v));
    } else {
      double f = p.number("fraction", std::nullopt, {0.0, 1.0, true, true});
      auto k = static_cast<std::uint32_t>(f * o.validators);
      for (NodeId v = 0; v < k; ++v) part.side.push_back(v);
    }
    o.partitions.push_back(std::move(part));
  }
  ParamView topo = net.table("topology");
  const auto& entry = regs.topologies.get(topo, "type", "complete");
  spec.overlay = entry.factory(topo, o.overlay_nodes(), seed);
  if (!spec.overlay.connected())
    topo.fail("type",
              "the generated overlay is not connected; raise its degree or edge "
              "probability");
  guarded(net, "", [&] {
    o.validate();
    return 0;
  });
  return spec;
}

}  // namespace ledgerfl::net
