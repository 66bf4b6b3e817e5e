// Registration of the economy's built-in components.
#include "sim/economy/registries.hpp"

namespace ledgerfl::economy {

void register_builtin_economy(EconomyRegistries& regs) {
  register_builtin_selection(regs.selection);
  register_builtin_reputation(regs.reputation);
  register_builtin_scores(regs.scores);
}

void add_to_catalog(const EconomyRegistries& regs, scenario::Catalog& catalog) {
  catalog.add(regs.selection);
  catalog.add(regs.reputation);
  catalog.add(regs.scores);
}

}  // namespace ledgerfl::economy
