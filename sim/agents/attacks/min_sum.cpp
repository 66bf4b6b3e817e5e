// min_sum: Shejwalkar & Houmansadr 2021 (NDSS), Sec. 4.3, Min-Sum: the malicious update
// mean + gamma * p whose sum of squared distances to the benign updates stays within the
// largest such sum of a benign update, gamma maximised by their Alg. 1 (see min_max.cpp).
#include "sim/agents/attacks/agr_agnostic.hpp"
#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents::attacks {

void register_min_sum(AttackRegistry& reg) {
  reg.add({"min_sum",
           "AGR-agnostic Min-Sum (Shejwalkar & Houmansadr 2021): mean + gamma p, sum of distances "
           "to the benign updates <= the largest benign sum",
           agr_agnostic_docs()},
          [](const scenario::ParamView& p, int, int) {
            return make_agr_agnostic(AgrOracle::kMinSum, p);
          });
}

}  // namespace ledgerfl::agents::attacks
