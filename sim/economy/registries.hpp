// The registries of the token economy (selection, reputation, contribution scores), for the
// contract coordinator and `ledgerfl list`.
#pragma once

#include "sim/economy/reputation.hpp"
#include "sim/economy/scores.hpp"
#include "sim/economy/selection.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::economy {

struct EconomyRegistries {
  SelectionRegistry selection{"selection", "[contract.selection] type = \"...\""};
  ReputationRegistry reputation{"reputation", "[contract.reputation] type = \"...\""};
  ScoreRegistry scores{"contribution_score", "[contract.rewards] score = \"...\""};
};

void register_builtin_economy(EconomyRegistries& regs);
void add_to_catalog(const EconomyRegistries& regs, scenario::Catalog& catalog);

}  // namespace ledgerfl::economy
