// The adversary: which registered clients are attacker identities, of which attack, when each
// attack is on, and the commit phase in which attacks craft their updates. Built from the
// scenario's `[[attack]]` tables; owned by the Learner, so every coordinator gets the same
// attacks (sim/agents/attack.hpp describes how a round uses them).
//
// Identities: an attack takes `count` clients, or `fraction` x [clients] count (rounded), drawn
// without replacement with a keyed stream over all attacks at once (identities are disjoint;
// the k-th table takes the k-th block of a keyed shuffle). Memory: 8 B per identity.
// Schedule: active in rounds [start_round, stop_round] (stop_round = 0: to the end), and within
// that, with on > 0, `on` rounds on then `off` rounds off. An inactive identity behaves honestly.
// Knowledge: "omniscient" (craft sees every benign update of the round, computed after honest
// training in the round's sequential commit phase — what ALIE, IPM, min-max and Fang assume) or
// "own" (only the updates its own identities trained).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/agents/attack.hpp"
#include "sim/scenario/params.hpp"

namespace ledgerfl::fl {

class Adversary {
 public:
  // nullptr when the scenario has no [[attack]].
  static std::unique_ptr<Adversary> build(const scenario::ParamView& root, std::uint64_t seed,
                                          std::size_t num_clients, int input_dim, int classes,
                                          const agents::AttackRegistry& reg);
  ~Adversary();

  struct Identity {
    std::size_t attack = 0;  // index of its [[attack]] table
    std::size_t index = 0;   // among that attack's identities (0..count-1)
  };
  std::size_t num_attacks() const;
  const agents::ClientAttack& attack(std::size_t k) const;
  std::size_t identities(std::size_t k) const;  // identities of attack k
  std::size_t total_identities() const;
  bool omniscient(std::size_t k) const;
  // The share of registered clients that are attacker identities (the expected Byzantine share
  // robust rules are told when their `f` key is not set).
  double malicious_fraction() const;

  // The identities' client ids, ascending.
  std::vector<std::size_t> identity_clients() const;
  // 0 = honest, k + 1 = identity of attack k (the /clients `role` column).
  int role(std::size_t client) const;
  std::string role_name(int role) const;               // "honest" or the attack's type
  const Identity* identity(std::size_t client) const;  // nullptr: honest
  bool active(std::size_t attack, std::int64_t round) const;
  // The attack a client follows in `round`, or nullptr (honest, or its attack is off).
  const agents::ClientAttack* acting(std::size_t client, std::int64_t round,
                                     Identity* who = nullptr) const;

  // Builds the attacks' success sets from the test set (once, after the data is loaded).
  void prepare_success_sets(const data::Dataset& test);
  // The attacks' success sets on the test set (attack k: empty if it has none).
  const data::Dataset& success_set(std::size_t k) const;
  // The first attack with a success set, or num_attacks().
  std::size_t success_attack() const;

  struct Impl;

 private:
  explicit Adversary(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The keys every [[attack]] table has besides its type's own (for `ledgerfl list` / README).
std::vector<scenario::ParamDoc> attack_common_param_docs();

}  // namespace ledgerfl::fl
