// Network: links with FIFO transmission queues, gossip, shortest-path unicast, faults.
#include "sim/net/network.hpp"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <cmath>
#include <stdexcept>
#include <string>

#include "sim/core/rng.hpp"

namespace ledgerfl::net {

namespace {
// Inverse CDF over shares: the first index whose cumulative share exceeds u in [0, 1); the last
// index takes the rounding remainder.
std::size_t pick_by_share(const std::vector<double>& share, double u) {
  double acc = 0;
  std::size_t i = 0;
  for (; i + 1 < share.size(); ++i) {
    acc += share[i];
    if (u < acc) break;
  }
  return i;
}
}  // namespace

namespace {
constexpr std::uint64_t kLatencyStream = core::purpose_id("net.latency");
}

std::string_view to_string(ClientAttach a) {
  return a == ClientAttach::kOverlay ? "overlay" : "validators";
}
std::string_view to_string(PartitionMode m) {
  return m == PartitionMode::kQueue ? "queue" : "drop";
}
std::string_view to_string(BandwidthModel m) {
  return m == BandwidthModel::kPerNode ? "per_node" : "per_link";
}
std::string_view to_string(GossipMode m) {
  return m == GossipMode::kAnnounce ? "announce" : "flood";
}

void NetworkOptions::validate() const {
  if (validators == 0) throw std::invalid_argument("network.validators must be >= 1");
  if (client_attach == ClientAttach::kValidators && clients > 0 &&
      (client_degree == 0 || client_degree > validators))
    throw std::invalid_argument("network.client_degree = " + std::to_string(client_degree) +
                                " must be in [1, validators = " + std::to_string(validators) + "]");
  if (relay_delay < core::SimTime{}) throw std::invalid_argument("network.relay_delay >= 0");
  regions.validate();
  if (!bandwidth.empty()) bandwidth.validate();
  if (!client_bandwidth.empty()) client_bandwidth.validate();
  latency.validate();
  for (const auto& c : crashes) {
    if (c.node >= nodes())
      throw std::invalid_argument("network.crash.node = " + std::to_string(c.node) +
                                  " is not a node id (< " + std::to_string(nodes()) + ")");
    if (c.recover <= c.at) throw std::invalid_argument("network.crash.recover must be > at");
  }
  for (const auto& p : partitions) {
    if (p.end <= p.start) throw std::invalid_argument("network.partition.end must be > start");
    for (NodeId v : p.side)
      if (v >= nodes())
        throw std::invalid_argument("network.partition.side contains " + std::to_string(v) +
                                    ", not a node id (< " + std::to_string(nodes()) + ")");
  }
}

Network::Network(core::Engine& engine, Graph overlay, NetworkOptions options, std::uint64_t seed)
    : engine_(engine), options_(std::move(options)), seed_(seed), n_(options_.nodes()) {
  options_.validate();
  if (overlay.n != options_.overlay_nodes())
    throw std::invalid_argument("topology has " + std::to_string(overlay.n) + " nodes, expected " +
                                std::to_string(options_.overlay_nodes()));
  normalize(overlay);
  if (!overlay.connected())
    throw std::invalid_argument(
        "the overlay topology is not connected; raise the degree or "
        "edge probability");
  Graph g = std::move(overlay);
  g.n = n_;
  if (options_.client_attach == ClientAttach::kValidators) {
    for (NodeId c = options_.validators; c < n_; ++c) {
      core::Rng rng(seed_, "net.client_attach", c);
      std::vector<NodeId> pick;
      while (pick.size() < options_.client_degree) {
        NodeId v = static_cast<NodeId>(rng.below(options_.validators));
        if (std::find(pick.begin(), pick.end(), v) == pick.end()) pick.push_back(v);
      }
      for (NodeId v : pick) g.edges.emplace_back(v, c);
    }
    normalize(g);
  }
  // Regions by share (inverse CDF), one keyed stream per node.
  const auto& reg = options_.regions;
  region_.resize(n_);
  for (NodeId v = 0; v < n_; ++v) {
    core::Rng rng(seed_, "net.region", v);
    region_[v] = static_cast<std::uint32_t>(pick_by_share(reg.share, rng.uniform()));
  }
  // Capacities: the node's bandwidth class (by share, one keyed stream per node) or its region.
  up_bps_.resize(n_);
  down_bps_.resize(n_);
  for (NodeId v = 0; v < n_; ++v) {
    const bool client_own = options_.own_client_bandwidth && v >= options_.validators;
    const auto& bw = client_own ? options_.client_bandwidth : options_.bandwidth;
    if (bw.empty()) {
      up_bps_[v] = reg.upload_bps[region_[v]];
      down_bps_[v] = reg.download_bps[region_[v]];
      continue;
    }
    core::Rng rng(seed_, "net.bandwidth", v);
    const std::size_t c = pick_by_share(bw.share, rng.uniform());
    up_bps_[v] = bw.upload_bps[c];
    down_bps_[v] = bw.download_bps[c];
  }
  up_busy_.assign(n_, core::SimTime{});
  down_busy_.assign(n_, core::SimTime{});
  up_.assign(n_, 1);
  nbr_ = g.adjacency();
  out_.resize(n_);
  for (NodeId u = 0; u < n_; ++u) {
    for (NodeId v : nbr_[u]) {
      const auto id = static_cast<std::uint32_t>(links_.size());
      links_.push_back(Link{u,
                            v,
                            reg.latency_ms[region_[u]][region_[v]],
                            std::min(up_bps_[u], down_bps_[v]),
                            {},
                            core::Rng(seed_, kLatencyStream, id)});
      out_[u].push_back(id);
    }
  }
  routes_.resize(n_);
  for (const auto& p : options_.partitions) {
    std::vector<std::uint8_t> side(n_, 0);
    for (NodeId v : p.side) side[v] = 1;
    partition_side_.push_back(std::move(side));
  }
}

Network::~Network() = default;

void Network::start() {
  for (std::uint32_t i = 0; i < options_.crashes.size(); ++i) {
    const Crash& c = options_.crashes[i];
    engine_.schedule_at(c.at, [this, i] {
      NodeId v = options_.crashes[i].node;
      up_[v] = 0;
      if (receiver_) receiver_->on_node_state(v, false);
    });
    if (c.recover != core::SimTime::max())
      engine_.schedule_at(c.recover, [this, i] {
        NodeId v = options_.crashes[i].node;
        up_[v] = 1;
        if (receiver_) receiver_->on_node_state(v, true);
      });
  }
}

std::uint32_t Network::link_id(NodeId u, NodeId v) const {
  const auto& nb = nbr_[u];
  auto it = std::lower_bound(nb.begin(), nb.end(), v);
  if (it == nb.end() || *it != v)
    throw std::logic_error("no link " + std::to_string(u) + " -> " + std::to_string(v));
  return out_[u][static_cast<std::size_t>(it - nb.begin())];
}

double Network::link_latency_ms(NodeId u, NodeId v) const {
  return links_[link_id(u, v)].mean_ms;
}
double Network::link_bandwidth_bps(NodeId u, NodeId v) const {
  return links_[link_id(u, v)].bps;
}

std::uint32_t Network::alloc(const Pending& p) {
  if (!free_.empty()) {
    std::uint32_t s = free_.back();
    free_.pop_back();
    pending_[s] = p;
    return s;
  }
  pending_.push_back(p);
  return static_cast<std::uint32_t>(pending_.size() - 1);
}

core::SimTime Network::cut_until(NodeId u, NodeId v, core::SimTime now) const {
  core::SimTime until{};
  for (std::size_t i = 0; i < partition_side_.size(); ++i) {
    const Partition& p = options_.partitions[i];
    if (now >= p.start && now < p.end && partition_side_[i][u] != partition_side_[i][v])
      until = std::max(until, p.end);
  }
  return until;
}

void Network::transmit(std::uint32_t link, Hop h) {
  Link& l = links_[link];
  const core::SimTime now = engine_.now();
  if (!partition_side_.empty()) {
    if (core::SimTime until = cut_until(l.from, l.to, now); until > core::SimTime{}) {
      if (options_.partition_mode == PartitionMode::kDrop) {
        ++stats_.dropped_partition;
        drop(h);
      } else {
        engine_.schedule_at(until, [this, link, h] { transmit(link, h); });
      }
      return;
    }
  }
  const Message& m = h.gossip != kNone ? gossips_[h.gossip].msg : pending_[h.slot].msg;
  const double bits = static_cast<double>(m.bytes) * 8.0;
  const core::SimTime tx = core::SimTime::from_seconds(bits / l.bps);
  // Announce mode: the block follows the inv -> getdata round trip on this link.
  const core::SimTime ready = h.gossip != kNone && options_.gossip == GossipMode::kAnnounce
                                  ? now + core::SimTime::from_seconds(2.0 * l.mean_ms * 1e-3)
                                  : now;
  const bool per_node = options_.bandwidth_model == BandwidthModel::kPerNode;
  core::SimTime& busy = per_node ? up_busy_[l.from] : l.busy_until;
  const core::SimTime start = std::max(ready, busy);
  busy = start + tx;
  const core::SimTime sent = busy;
  ++stats_.transmissions;
  if (m.consensus) ++stats_.consensus_messages;
  stats_.bytes += m.bytes;
  core::Rng& rng = l.rng;
  if (options_.latency.loss > 0 && rng.bernoulli(options_.latency.loss)) {
    ++stats_.lost;
    drop(h);
    return;
  }
  const core::SimTime lat = options_.latency.sample(l.mean_ms, rng);
  core::SimTime at = sent + lat;
  if (per_node) {
    // The bits reach v during [start + lat, sent + lat]; v's downlink takes one transfer at a
    // time at its own capacity, so the copy is complete when both the sender has pushed it
    // and the downlink has drained it (a FIFO server in tandem with the uplink).
    core::SimTime& dbusy = down_busy_[l.to];
    const core::SimTime dstart = std::max(start + lat, dbusy);
    at = std::max(at, dstart + core::SimTime::from_seconds(bits / down_bps_[l.to]));
    dbusy = at;
  }
  engine_.schedule_at(at, [this, h] { arrive(h); });
}

void Network::mark_seen(GossipId g, NodeId v) {
  Gossip& G = gossips_[g];
  G.seen[v] = kReceived;
  ++G.reached;
  const core::SimTime dt = engine_.now() - G.start;
  auto need = [&](int pct) { return (static_cast<std::uint64_t>(n_) * pct + 99) / 100; };
  if (G.reached == need(50)) G.t50 = dt;
  if (G.reached == need(90)) G.t90 = dt;
  if (G.reached == n_) G.t100 = dt;
}

void Network::arrive(Hop h) {
  if (!up_or_count(h.to)) {
    drop(h);
    return;
  }
  if (h.gossip != kNone) {
    Gossip& G = gossips_[h.gossip];
    if (G.seen.empty() || G.seen[h.to] == kReceived) {
      ++stats_.duplicates;
      return;
    }
    mark_seen(h.gossip, h.to);
    ++stats_.delivered;
    bool relay = receiver_ ? receiver_->on_gossip(h.to, h.from, h.gossip, G.msg) : true;
    if (!relay) return;
    if (options_.relay_delay > core::SimTime{}) {
      engine_.schedule_in(options_.relay_delay, [this, h] {
        if (up_or_count(h.to)) relay_now(h.to, h.gossip, h.from);
      });
    } else {
      relay_now(h.to, h.gossip, h.from);
    }
    return;
  }
  const NodeId dest = pending_[h.slot].dest;
  if (h.to == dest) {
    const Message m = pending_[h.slot].msg;
    free_.push_back(h.slot);
    ++stats_.delivered;
    if (receiver_) receiver_->on_message(h.to, m);
    return;
  }
  const std::uint32_t link = route_link(h.to, dest);
  transmit(link, Hop{kNone, h.slot, h.to, links_[link].to});
}

void Network::relay_now(NodeId at, GossipId g, NodeId exclude) {
  if (!up_[at]) return;
  const auto& nb = nbr_[at];
  const bool announce = options_.gossip == GossipMode::kAnnounce;
  for (std::size_t i = 0; i < nb.size(); ++i) {
    if (nb[i] == exclude) continue;
    if (announce) {
      // A neighbour that has the message, or has requested it from an earlier announcer,
      // ignores this inv.
      auto& s = gossips_[g].seen;
      if (s.empty() || s[nb[i]] != 0) continue;
      s[nb[i]] = kRequested;
    }
    transmit(out_[at][i], Hop{g, kNone, at, nb[i]});
  }
}

GossipId Network::broadcast(NodeId origin, const Message& m) {
  Gossip G;
  G.msg = m;
  G.start = engine_.now();
  G.seen.assign(n_, 0);
  gossips_.push_back(std::move(G));
  GossipId g = static_cast<GossipId>(gossips_.size() - 1);
  if (!up_[origin]) return g;
  mark_seen(g, origin);
  relay_now(origin, g, origin);
  return g;
}

void Network::relay(NodeId at, GossipId g) {
  relay_now(at, g, at);
}

bool Network::seen(GossipId g, NodeId v) const {
  const auto& s = gossips_[g].seen;
  return !s.empty() && s[v] == kReceived;
}
std::uint32_t Network::reached(GossipId g) const {
  return gossips_[g].reached;
}
const Message& Network::gossip_message(GossipId g) const {
  return gossips_[g].msg;
}

core::SimTime Network::propagation(GossipId g, int percent) const {
  const Gossip& G = gossips_[g];
  if (percent == 50) return G.t50;
  if (percent == 90) return G.t90;
  if (percent == 100) return G.t100;
  throw std::invalid_argument("propagation percent must be 50, 90 or 100");
}

void Network::release(GossipId g) {
  gossips_[g].seen.clear();
  gossips_[g].seen.shrink_to_fit();
}

std::uint32_t Network::route_link(NodeId at, NodeId dest) {
  // A leaf (a client attached to one validator) is reached through its only neighbour: route
  // there, then take the last link; no shortest-path tree per leaf (a contract round sends to
  // hundreds of clients; each tree is a Dijkstra over the whole graph and n entries).
  if (nbr_[dest].size() == 1) {
    const NodeId p = nbr_[dest][0];
    return at == p ? link_id(p, dest) : route_link(at, p);
  }
  auto& r = routes_[dest];
  if (r.empty()) {
    using G =
        boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                              boost::property<boost::edge_weight_t, double>>;
    G bg(n_);
    for (NodeId u = 0; u < n_; ++u)
      for (std::size_t i = 0; i < nbr_[u].size(); ++i)
        if (u < nbr_[u][i]) {
          const Link& a = links_[out_[u][i]];
          const Link& b = links_[link_id(nbr_[u][i], u)];
          // Ties between equal-latency paths break towards fewer hops via a tiny hop cost.
          boost::add_edge(u, nbr_[u][i], 0.5 * (a.mean_ms + b.mean_ms) + 1e-6, bg);
        }
    std::vector<G::vertex_descriptor> pred(n_);
    boost::dijkstra_shortest_paths(bg, dest, boost::predecessor_map(pred.data()));
    r.assign(n_, kNone);
    for (NodeId v = 0; v < n_; ++v)
      if (v != dest) r[v] = link_id(v, static_cast<NodeId>(pred[v]));
  }
  return r[at];
}

NodeId Network::next_hop(NodeId at, NodeId dest) {
  return links_[route_link(at, dest)].to;
}

void Network::send(NodeId from, NodeId to, const Message& m) {
  if (!up_[from]) {
    ++stats_.dropped_crash;
    return;
  }
  if (from == to) {
    ++stats_.delivered;
    if (receiver_) receiver_->on_message(to, m);
    return;
  }
  const std::uint32_t link = route_link(from, to);
  transmit(link, Hop{kNone, alloc(Pending{m, to}), from, links_[link].to});
}

}  // namespace ledgerfl::net
