// `ledgerfl audit` for a learning-contract run, after the ledger checks (sim/chain/audit.hpp):
//  - every block header's state_digest = SHA-256(generic digest || the recorded application
//    state of /contract/state), the generic digest recomputed from the parent's state_digest,
//    tx_root and height;
//  - every /contract/commitments row names a submit_update transaction on the main chain
//    whose sender is the client and whose payload hash is the hash of (round, commitment,
//    sample count) as the contract encodes them;
//  - with /contract/updates (contract.record_updates): each recorded update's bytes hash to its
//    commitment (so a flipped byte in a stored update is found).
#pragma once

#include <map>
#include <ostream>
#include <string>

#include "sim/chain/audit.hpp"

namespace ledgerfl::metrics {
class H5Reader;
}

namespace ledgerfl::contract {

// 0 when every check holds or the run has no contract records; 1 naming the first broken row.
int audit_contract(const metrics::H5Reader& r, std::ostream& out);
// The same over tables already read (path -> columns and rows), e.g. a core::MemorySink's.
using RecordedTables = std::map<std::string, chain::RecordedTable>;
int audit_contract(const RecordedTables& tables, std::ostream& out);

}  // namespace ledgerfl::contract
