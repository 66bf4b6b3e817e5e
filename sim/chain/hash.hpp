// SHA-256 (OpenSSL libcrypto), Merkle roots and little-endian encoding helpers for hashing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sim/core/record.hpp"

namespace ledgerfl::chain {

using Hash = core::Hash32;

Hash sha256(std::span<const std::uint8_t> bytes);
std::string to_hex(const Hash& h);

// Merkle root over leaf hashes, Bitcoin's construction (Nakamoto 2008, section 7): pairs are
// hashed as SHA-256(left || right), an odd last node is paired with itself, and the root of no
// leaves is SHA-256 of the empty string.
Hash merkle_root(std::span<const Hash> leaves);

// Fixed-width little-endian serialisation: the bytes that block and transaction hashes cover.
class Encoder {
 public:
  Encoder& u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  Encoder& i64(std::int64_t v) { return u64(static_cast<std::uint64_t>(v)); }
  Encoder& hash(const Hash& h) {
    buf_.insert(buf_.end(), h.begin(), h.end());
    return *this;
  }
  Hash digest() const { return sha256(buf_); }
  const std::vector<std::uint8_t>& bytes() const { return buf_; }

 private:
  std::vector<std::uint8_t> buf_;
};

}  // namespace ledgerfl::chain
