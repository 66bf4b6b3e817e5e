// register_builtin_attacks: the one place that lists the built-in attacks (STYLE.md rule 6).
#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents {

void register_builtin_attacks(AttackRegistry& reg) {
  using namespace attacks;
  // Data poisoning.
  register_label_flip(reg);
  register_backdoor(reg);
  register_model_replacement(reg);
  register_dba(reg);
  register_neurotoxin(reg);
  // Model poisoning.
  register_sign_flip(reg);
  register_scaling(reg);
  register_gaussian(reg);
  register_alie(reg);
  register_ipm(reg);
  register_min_max(reg);
  register_min_sum(reg);
  register_fang_trim(reg);
  register_fang_krum(reg);
  register_mimic(reg);
  // Free-riders.
  register_zero(reg);
  register_stale(reg);
  register_disguised(reg);
  register_delta_weights(reg);
}

}  // namespace ledgerfl::agents
