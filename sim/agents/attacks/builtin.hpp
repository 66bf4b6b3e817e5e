// Registration functions of the built-in attacks, one per file; register_builtin_attacks
// (register.cpp) calls them all.
#pragma once

#include "sim/agents/attack.hpp"

namespace ledgerfl::agents::attacks {

void register_label_flip(AttackRegistry& reg);
void register_backdoor(AttackRegistry& reg);
void register_model_replacement(AttackRegistry& reg);
void register_dba(AttackRegistry& reg);
void register_neurotoxin(AttackRegistry& reg);
void register_sign_flip(AttackRegistry& reg);
void register_scaling(AttackRegistry& reg);
void register_gaussian(AttackRegistry& reg);
void register_alie(AttackRegistry& reg);
void register_ipm(AttackRegistry& reg);
void register_min_max(AttackRegistry& reg);
void register_min_sum(AttackRegistry& reg);
void register_fang_trim(AttackRegistry& reg);
void register_fang_krum(AttackRegistry& reg);
void register_mimic(AttackRegistry& reg);
void register_zero(AttackRegistry& reg);
void register_stale(AttackRegistry& reg);
void register_disguised(AttackRegistry& reg);
void register_delta_weights(AttackRegistry& reg);

}  // namespace ledgerfl::agents::attacks
