// The gas schedule of the learning contract: what each contract operation costs, from
// Ethereum's published schedule so that costs read in a familiar unit. Defaults and sources:
//   tx_base           21,000  intrinsic cost of a transaction (Yellow Paper, G_transaction)
//   calldata_nonzero      16  per non-zero byte of call data (EIP-2028, Istanbul)
//   calldata_zero          4  per zero byte of call data (Yellow Paper, G_txdatazero)
//   sstore_set        20,000  writing a fresh storage slot (Yellow Paper, G_sset)
//   cold_access        2,100  first access to a storage slot in a transaction (EIP-2929)
//   log_base             375  an event log (G_log) ...
//   log_topic            375  ... per topic (G_logtopic) ...
//   log_byte               8  ... per byte of log data (G_logdata)
// Every value is configurable under [contract.gas].
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sim/scenario/params.hpp"

namespace ledgerfl::contract {

struct GasSchedule {
  std::int64_t tx_base = 21'000;
  std::int64_t calldata_nonzero = 16;
  std::int64_t calldata_zero = 4;
  std::int64_t sstore_set = 20'000;
  std::int64_t cold_access = 2'100;
  std::int64_t log_base = 375;
  std::int64_t log_topic = 375;
  std::int64_t log_byte = 8;

  // Gas of `bytes` of call data: 16 per non-zero byte, 4 per zero byte.
  std::int64_t calldata(std::span<const std::uint8_t> bytes) const;
  // The same from counts (when the bytes are not materialised).
  std::int64_t calldata(std::int64_t nonzero, std::int64_t zero) const {
    return nonzero * calldata_nonzero + zero * calldata_zero;
  }
  // `slots` fresh storage slots written, each first accessed cold.
  std::int64_t store(std::int64_t slots) const { return slots * (sstore_set + cold_access); }
  // One event log with `topics` topics and `data_bytes` bytes of data.
  std::int64_t log(std::int64_t topics, std::int64_t data_bytes) const {
    return log_base + topics * log_topic + data_bytes * log_byte;
  }
};

// Reads [contract.gas] (every key optional, each >= 0).
GasSchedule read_gas_schedule(const scenario::ParamView& p);

// The contract's operations, each a transaction kind on the ledger (registered under these
// names in chain::TxKinds) and a column group gas_<name> in /rounds.
enum class Op : std::uint8_t {
  kRegister,
  kTopUp,
  kUnbond,
  kSubmit,
  kVote,
  kPropose,
  kGovVote,
  kEvidence
};
inline constexpr std::size_t kOps = 8;
std::string_view op_name(Op op);  // "register", "top_up", "unbond", "submit_update", ...

// What each operation's transaction costs. Call data is encoded as fixed-width fields (32-byte
// hashes, 8-byte integers); an on-chain update adds its little-endian float32 bytes.
struct OpCost {
  std::int64_t gas = 0;
  std::int64_t bytes = 0;  // transaction size on the wire and in the block
};
// Transaction overhead outside the call data (signature, nonce, addresses): 110 bytes, about
// an Ethereum legacy transaction's envelope.
inline constexpr std::int64_t kTxEnvelopeBytes = 110;
// register / top-up / unbond: an account and an amount (2 x 8 bytes); register writes 2 slots
// (stake, status), the others 1; each emits one log with 2 topics.
OpCost register_cost(const GasSchedule& g);
OpCost stake_change_cost(const GasSchedule& g);
// submit_update: round (8), commitment (32), sample count (8), then either the update's bytes
// (on-chain; `update` = its bytes, for the exact zero/non-zero count) or a content address
// (off-chain: 32 bytes). Writes 2 slots (commitment, metadata), one log with 3 topics.
OpCost submit_cost(const GasSchedule& g, std::span<const std::uint8_t> update_bytes, bool onchain);
// submit_update with an update of `update_size` bytes whose zero bytes are not counted (each
// byte charged as non-zero): an upper bound used for estimates before the bytes exist.
OpCost submit_cost_bound(const GasSchedule& g, std::int64_t update_size, bool onchain);
// vote: round (8) and result hash (32); one slot, one log with 2 topics.
OpCost vote_cost(const GasSchedule& g);
// propose: key and value (64 bytes of strings), voting period (8); 2 slots, one log.
OpCost propose_cost(const GasSchedule& g);
// gov_vote: proposal id (8) and choice (8); one slot, one log.
OpCost gov_vote_cost(const GasSchedule& g);
// evidence (duplicate-vote evidence against a validator): offender, height, round and vote type
// (4 x 8), the two conflicting votes' block hashes (2 x 32) and signatures (2 x 64 bytes,
// Ed25519) = 224 bytes; one slot (the (validator, height) record), one log with 2 topics.
OpCost evidence_cost(const GasSchedule& g);

}  // namespace ledgerfl::contract
