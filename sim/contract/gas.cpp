#include "sim/contract/gas.hpp"

#include <algorithm>

namespace ledgerfl::contract {

using scenario::Bounds;

std::int64_t GasSchedule::calldata(std::span<const std::uint8_t> bytes) const {
  const auto zero = static_cast<std::int64_t>(std::count(bytes.begin(), bytes.end(), 0));
  return calldata(static_cast<std::int64_t>(bytes.size()) - zero, zero);
}

GasSchedule read_gas_schedule(const scenario::ParamView& p) {
  GasSchedule g;
  auto read = [&](const char* key, std::int64_t& v) {
    v = p.integer(key, v, Bounds::between(0, 1e12));
  };
  read("tx_base", g.tx_base);
  read("calldata_nonzero", g.calldata_nonzero);
  read("calldata_zero", g.calldata_zero);
  read("sstore_set", g.sstore_set);
  read("cold_access", g.cold_access);
  read("log_base", g.log_base);
  read("log_topic", g.log_topic);
  read("log_byte", g.log_byte);
  return g;
}

std::string_view op_name(Op op) {
  switch (op) {
    case Op::kRegister:
      return "register";
    case Op::kTopUp:
      return "top_up";
    case Op::kUnbond:
      return "unbond";
    case Op::kSubmit:
      return "submit_update";
    case Op::kVote:
      return "vote";
    case Op::kPropose:
      return "propose";
    case Op::kGovVote:
      return "gov_vote";
    case Op::kEvidence:
      return "evidence";
  }
  return "?";
}

namespace {
// Fixed-width fields are charged as non-zero bytes (hashes and ids are dense): an honest upper
// bound that keeps every cost a closed form of the field count.
OpCost fields(const GasSchedule& g, std::int64_t bytes, std::int64_t slots, std::int64_t topics,
              std::int64_t log_bytes) {
  return {g.tx_base + g.calldata(bytes, 0) + g.store(slots) + g.log(topics, log_bytes),
          kTxEnvelopeBytes + bytes};
}
}  // namespace

OpCost register_cost(const GasSchedule& g) {
  return fields(g, 16, 2, 2, 8);
}
OpCost stake_change_cost(const GasSchedule& g) {
  return fields(g, 16, 1, 2, 8);
}
OpCost submit_cost(const GasSchedule& g, std::span<const std::uint8_t> update_bytes, bool onchain) {
  OpCost c = fields(g, 48 + (onchain ? 0 : 32), 2, 3, 8);
  if (onchain) {
    c.gas += g.calldata(update_bytes);
    c.bytes += static_cast<std::int64_t>(update_bytes.size());
  }
  return c;
}
OpCost submit_cost_bound(const GasSchedule& g, std::int64_t update_size, bool onchain) {
  OpCost c = fields(g, 48 + (onchain ? 0 : 32), 2, 3, 8);
  if (onchain) {
    c.gas += g.calldata(update_size, 0);
    c.bytes += update_size;
  }
  return c;
}
OpCost vote_cost(const GasSchedule& g) {
  return fields(g, 40, 1, 2, 32);
}
OpCost propose_cost(const GasSchedule& g) {
  return fields(g, 72, 2, 2, 64);
}
OpCost gov_vote_cost(const GasSchedule& g) {
  return fields(g, 16, 1, 2, 8);
}
OpCost evidence_cost(const GasSchedule& g) {
  return fields(g, 224, 1, 2, 16);
}

}  // namespace ledgerfl::contract
