// The adversary (see adversary.hpp).
#include "sim/fl/adversary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include <fmt/core.h>

#include "sim/core/rng.hpp"
#include "sim/fl/learner.hpp"

namespace ledgerfl::fl {

using scenario::Bounds;
using scenario::ParamView;

struct Adversary::Impl {
  struct Attack {
    std::string type;
    std::unique_ptr<agents::ClientAttack> impl;
    std::size_t count = 0;
    std::int64_t start = 1, stop = 0, on = 0, off = 0;
    bool omniscient = true;
    data::Dataset success;
  };
  std::vector<Attack> attacks;
  std::unordered_map<std::size_t, Identity> who;  // client -> identity
  std::size_t clients = 0, total = 0;
  std::size_t success_attack = 0;
};

std::vector<scenario::ParamDoc> attack_common_param_docs() {
  return {
      {"type", "string", "", "", "the attack (`ledgerfl list attack`)"},
      {"fraction", "float", "0", "",
       "share of [clients] count that are its identities (rounded; or give count)"},
      {"count", "int", "", "", "number of identities (instead of fraction)"},
      {"start_round", "int", "1", "", "first round the attack is on"},
      {"stop_round", "int", "0", "", "last round it is on (0 = to the end)"},
      {"on", "int", "0", "",
       "with on > 0: on rounds on, then off rounds off, repeating from start_round"},
      {"off", "int", "0", "", "rounds off in the on/off pattern"},
      {"knowledge", "string", "\"omniscient\"", "",
       "\"omniscient\": crafting sees every benign update of the round; \"own\": only its "
       "identities' own trained updates"},
      {"stake_budget", "int", "", "tokens",
       "contract coordinator, optional: the identities share this genesis stake (each floor(X / "
       "k)) instead of drawing contract.stake (a Sybil operator's budget)"},
  };
}

std::unique_ptr<Adversary> Adversary::build(const ParamView& root, std::uint64_t seed,
                                            std::size_t num_clients, int input_dim, int classes,
                                            const agents::AttackRegistry& reg) {
  const std::vector<ParamView> tables = root.table_array("attack");
  if (tables.empty()) return nullptr;
  auto im = std::make_unique<Impl>();
  im->clients = num_clients;
  const std::int64_t rounds = root.table("simulation").integer("rounds", 10, Bounds::at_least(1));
  for (const ParamView& t : tables) {
    Impl::Attack a;
    const auto& entry = reg.get(t);
    a.type = entry.doc.name;
    if (t.has("count") && t.has("fraction"))
      t.fail("fraction", "and count are alternatives: give one of them");
    if (t.has("count")) {
      a.count = static_cast<std::size_t>(
          t.integer("count", std::nullopt, Bounds::between(1, static_cast<double>(num_clients))));
    } else {
      const double f = t.number("fraction", std::nullopt, {0.0, 1.0, true, true});
      a.count = static_cast<std::size_t>(std::llround(f * static_cast<double>(num_clients)));
      if (a.count == 0)
        t.fail("fraction", fmt::format("= {} of {} clients is no identity at all; raise it to at "
                                       "least {:.4g} or give count",
                                       f, num_clients, 0.5 / static_cast<double>(num_clients)));
    }
    a.start = t.integer("start_round", 1, Bounds::between(1, static_cast<double>(rounds)));
    a.stop = t.integer("stop_round", 0, Bounds::between(0, static_cast<double>(rounds)));
    if (a.stop != 0 && a.stop < a.start)
      t.fail("stop_round", fmt::format("= {} is before start_round = {}", a.stop, a.start));
    a.on = t.integer("on", 0, Bounds::non_negative());
    a.off = t.integer("off", 0, Bounds::non_negative());
    if (a.on == 0 && a.off > 0) t.fail("off", "needs on > 0 (the pattern is on rounds, then off)");
    static constexpr std::string_view kKnowledge[] = {"omniscient", "own"};
    a.omniscient = t.choice("knowledge", kKnowledge, "omniscient") == "omniscient";
    // stake_budget is the contract coordinator's (it owns the balances); the server has no stake.
    if (t.has("stake_budget")) t.mark_used("stake_budget");
    a.impl = entry.factory(t, input_dim, classes);
    im->total += a.count;
    im->attacks.push_back(std::move(a));
  }
  if (im->total > num_clients)
    tables.back().fail(
        tables.back().has("count") ? "count" : "fraction",
        fmt::format("the attacks take {} identities of {} clients in all", im->total, num_clients));
  if (!root.dry()) {
    // Disjoint identities: a keyed sample of all of them, shuffled, cut in table order.
    core::Rng rng(seed, "attack_identities", 0, 0);
    std::vector<std::size_t> ids = sample_without_replacement(num_clients, im->total, rng);
    rng.shuffle(std::span<std::size_t>(ids));
    std::size_t pos = 0;
    for (std::size_t k = 0; k < im->attacks.size(); ++k) {
      std::vector<std::size_t> mine(ids.begin() + static_cast<std::ptrdiff_t>(pos),
                                    ids.begin() + static_cast<std::ptrdiff_t>(pos) +
                                        static_cast<std::ptrdiff_t>(im->attacks[k].count));
      pos += im->attacks[k].count;
      std::sort(mine.begin(), mine.end());
      for (std::size_t j = 0; j < mine.size(); ++j) im->who[mine[j]] = Identity{k, j};
    }
  }
  im->success_attack = im->attacks.size();
  return std::unique_ptr<Adversary>(new Adversary(std::move(im)));
}

Adversary::Adversary(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Adversary::~Adversary() = default;

std::size_t Adversary::num_attacks() const {
  return impl_->attacks.size();
}
const agents::ClientAttack& Adversary::attack(std::size_t k) const {
  return *impl_->attacks.at(k).impl;
}
std::size_t Adversary::identities(std::size_t k) const {
  return impl_->attacks.at(k).count;
}
std::size_t Adversary::total_identities() const {
  return impl_->total;
}
bool Adversary::omniscient(std::size_t k) const {
  return impl_->attacks.at(k).omniscient;
}
double Adversary::malicious_fraction() const {
  return static_cast<double>(impl_->total) / static_cast<double>(impl_->clients);
}
const Adversary::Identity* Adversary::identity(std::size_t client) const {
  auto it = impl_->who.find(client);
  return it == impl_->who.end() ? nullptr : &it->second;
}
std::vector<std::size_t> Adversary::identity_clients() const {
  std::vector<std::size_t> out;
  out.reserve(impl_->who.size());
  for (const auto& kv : impl_->who) out.push_back(kv.first);
  std::sort(out.begin(), out.end());
  return out;
}
int Adversary::role(std::size_t client) const {
  const Identity* id = identity(client);
  return id ? static_cast<int>(id->attack) + 1 : 0;
}
std::string Adversary::role_name(int role) const {
  if (role <= 0) return "honest";
  return impl_->attacks.at(static_cast<std::size_t>(role - 1)).type;
}
bool Adversary::active(std::size_t k, std::int64_t round) const {
  const Impl::Attack& a = impl_->attacks.at(k);
  if (round < a.start || (a.stop != 0 && round > a.stop)) return false;
  if (a.on <= 0) return true;
  return (round - a.start) % (a.on + a.off) < a.on;
}
const agents::ClientAttack* Adversary::acting(std::size_t client, std::int64_t round,
                                              Identity* who) const {
  const Identity* id = identity(client);
  if (!id || !active(id->attack, round)) return nullptr;
  if (who) *who = *id;
  return impl_->attacks[id->attack].impl.get();
}

const data::Dataset& Adversary::success_set(std::size_t k) const {
  return impl_->attacks.at(k).success;
}
std::size_t Adversary::success_attack() const {
  return impl_->success_attack;
}

void Adversary::prepare_success_sets(const data::Dataset& test) {
  Impl& im = *impl_;
  im.success_attack = im.attacks.size();
  for (std::size_t k = 0; k < im.attacks.size(); ++k) {
    Impl::Attack& a = im.attacks[k];
    a.success = data::Dataset{};
    if (a.impl->success_set(test, a.success) && a.success.size() > 0 &&
        im.success_attack == im.attacks.size())
      im.success_attack = k;
  }
}

}  // namespace ledgerfl::fl
