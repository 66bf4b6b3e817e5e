// Topology generators; Boost.Graph for Erdos-Renyi, Watts-Strogatz and connectivity.
#include "sim/net/topology.hpp"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/connected_components.hpp>
#include <boost/graph/erdos_renyi_generator.hpp>
#include <boost/graph/small_world_generator.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "sim/core/rng.hpp"

namespace ledgerfl::net {

namespace {
using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
}

std::vector<std::vector<NodeId>> Graph::adjacency() const {
  std::vector<std::vector<NodeId>> adj(n);
  for (auto [u, v] : edges) {
    adj[u].push_back(v);
    adj[v].push_back(u);
  }
  for (auto& a : adj) std::sort(a.begin(), a.end());
  return adj;
}

bool Graph::connected() const {
  if (n <= 1) return true;
  BoostGraph g(n);
  for (auto [u, v] : edges) boost::add_edge(u, v, g);
  std::vector<int> comp(n);
  return boost::connected_components(g, comp.data()) == 1;
}

void normalize(Graph& g) {
  for (auto& e : g.edges)
    if (e.first > e.second) std::swap(e.first, e.second);
  std::erase_if(g.edges, [](const auto& e) { return e.first == e.second; });
  std::sort(g.edges.begin(), g.edges.end());
  g.edges.erase(std::unique(g.edges.begin(), g.edges.end()), g.edges.end());
}

Graph complete_graph(std::uint32_t n) {
  Graph g{n, {}};
  g.edges.reserve(static_cast<std::size_t>(n) * (n - (n ? 1 : 0)) / 2);
  for (NodeId u = 0; u < n; ++u)
    for (NodeId v = u + 1; v < n; ++v) g.edges.emplace_back(u, v);
  return g;
}

Graph random_regular(std::uint32_t n, std::uint32_t d, std::uint64_t seed) {
  if (d >= n || (static_cast<std::uint64_t>(n) * d) % 2 != 0)
    throw std::invalid_argument("random_regular needs d < n and n*d even");
  // Pairing model: n*d stubs, random perfect matching; restart on loops/multi-edges. For large
  // d the acceptance rate drops, so after a failed pairing we keep the simple edges and repair
  // the remaining stubs by random switches (a standard practical variant).
  for (std::uint64_t attempt = 0;; ++attempt) {
    core::Rng rng(seed, "net.topology.regular", 0, attempt);
    std::vector<NodeId> stubs;
    stubs.reserve(static_cast<std::size_t>(n) * d);
    for (NodeId u = 0; u < n; ++u)
      for (std::uint32_t k = 0; k < d; ++k) stubs.push_back(u);
    rng.shuffle(std::span<NodeId>(stubs));
    Graph g{n, {}};
    std::vector<std::vector<NodeId>> adj(n);
    auto has = [&](NodeId a, NodeId b) {
      return std::find(adj[a].begin(), adj[a].end(), b) != adj[a].end();
    };
    std::vector<NodeId> left;
    for (std::size_t i = 0; i + 1 < stubs.size(); i += 2) {
      NodeId a = stubs[i], b = stubs[i + 1];
      if (a == b || has(a, b)) {
        left.push_back(a);
        left.push_back(b);
      } else {
        adj[a].push_back(b);
        adj[b].push_back(a);
      }
    }
    // Repair: pair leftover stubs (a, b) by breaking a random edge (x, y) into (a, x), (b, y).
    bool ok = true;
    for (std::size_t i = 0; i + 1 < left.size() && ok; i += 2) {
      NodeId a = left[i], b = left[i + 1];
      bool done = false;
      for (int tries = 0; tries < 1000 && !done; ++tries) {
        NodeId x = static_cast<NodeId>(rng.below(n));
        if (adj[x].empty()) continue;
        NodeId y = adj[x][rng.below(adj[x].size())];
        if (x == a || x == b || y == a || y == b || has(a, x) || has(b, y)) continue;
        std::erase(adj[x], y);
        std::erase(adj[y], x);
        adj[a].push_back(x);
        adj[x].push_back(a);
        adj[b].push_back(y);
        adj[y].push_back(b);
        done = true;
      }
      ok = done;
    }
    if (!ok) continue;
    for (NodeId u = 0; u < n; ++u)
      for (NodeId v : adj[u])
        if (u < v) g.edges.emplace_back(u, v);
    normalize(g);
    return g;
  }
}

Graph erdos_renyi(std::uint32_t n, double p, std::uint64_t seed) {
  core::Rng rng(seed, "net.topology.er");
  using It = boost::sorted_erdos_renyi_iterator<core::Rng, BoostGraph>;
  Graph g{n, {}};
  if (p > 0.0)
    for (It it(rng, n, p, false), end; it != end; ++it)
      g.edges.emplace_back(static_cast<NodeId>(it->first), static_cast<NodeId>(it->second));
  normalize(g);
  return g;
}

Graph barabasi_albert(std::uint32_t n, std::uint32_t m, std::uint64_t seed) {
  if (m == 0 || m >= n) throw std::invalid_argument("barabasi_albert needs 1 <= m < n");
  Graph g = complete_graph(m + 1);
  g.n = n;
  // "targets" holds each node once per incident edge: sampling from it is degree-proportional.
  std::vector<NodeId> targets;
  for (auto [u, v] : g.edges) {
    targets.push_back(u);
    targets.push_back(v);
  }
  std::vector<NodeId> chosen;
  for (NodeId u = m + 1; u < n; ++u) {
    core::Rng rng(seed, "net.topology.ba", u);
    chosen.clear();
    while (chosen.size() < m) {
      NodeId t = targets[rng.below(targets.size())];
      if (std::find(chosen.begin(), chosen.end(), t) == chosen.end()) chosen.push_back(t);
    }
    for (NodeId t : chosen) {
      g.edges.emplace_back(t, u);
      targets.push_back(t);
      targets.push_back(u);
    }
  }
  normalize(g);
  return g;
}

Graph watts_strogatz(std::uint32_t n, std::uint32_t k, double beta, std::uint64_t seed) {
  if (k == 0 || k >= n || k % 2 != 0)
    throw std::invalid_argument("watts_strogatz needs an even k with 0 < k < n");
  core::Rng rng(seed, "net.topology.ws");
  using It = boost::small_world_iterator<core::Rng, BoostGraph>;
  Graph g{n, {}};
  for (It it(rng, n, k, beta, false), end; it != end; ++it)
    g.edges.emplace_back(static_cast<NodeId>(it->first), static_cast<NodeId>(it->second));
  normalize(g);
  return g;
}

Graph edge_list_file(const std::string& path, std::uint32_t n) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open edge list file '" + path + "'");
  Graph g{n, {}};
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream ss(line);
    long long u, v;
    if (!(ss >> u)) continue;
    std::string rest;
    if (!(ss >> v) || (ss >> rest) || u < 0 || v < 0 || u >= n || v >= n)
      throw std::runtime_error(path + ":" + std::to_string(lineno) +
                               ": expected 'u v' with node ids in [0, " + std::to_string(n) + ")");
    g.edges.emplace_back(static_cast<NodeId>(u), static_cast<NodeId>(v));
  }
  normalize(g);
  return g;
}

}  // namespace ledgerfl::net
