// The global model's last movement, global - previous_global, that the stale and
// delta_weights free-riders resubmit (zeros before the first aggregate).
#pragma once

#include <algorithm>
#include <stdexcept>

#include "sim/agents/attack.hpp"

namespace ledgerfl::agents::attacks {

inline void write_global_movement(const CraftInput& in, std::span<float> out, float scale = 1.0f) {
  if (in.previous_global.empty()) {
    std::fill(out.begin(), out.end(), 0.0f);
    return;
  }
  if (in.global.size() != out.size() || in.previous_global.size() != out.size())
    throw std::invalid_argument("free-rider: global model and update lengths differ");
  for (std::size_t j = 0; j < out.size(); ++j)
    out[j] = scale * (in.global[j] - in.previous_global[j]);
}

}  // namespace ledgerfl::agents::attacks
