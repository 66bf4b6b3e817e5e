// register_builtin_attacks: the one place that lists the built-in attacks (STYLE.md rule 6).
#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents {

void register_builtin_attacks(AttackRegistry& reg) {
  using namespace attacks;
  // Data poisoning.
  register_label_flip(reg);
  register_backdoor(reg);
  // Model poisoning.
  register_sign_flip(reg);
}

}  // namespace ledgerfl::agents
