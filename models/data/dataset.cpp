// Dataset helpers.
#include "models/data/dataset.hpp"

#include <numeric>

namespace ledgerfl::data {

nn::ShardView Dataset::all_rows(std::vector<std::uint32_t>& identity_scratch) const {
  identity_scratch.resize(size());
  std::iota(identity_scratch.begin(), identity_scratch.end(), 0u);
  return {features.data(), labels.data(), dim(), identity_scratch};
}

}  // namespace ledgerfl::data
