// SHA-256 (OpenSSL libcrypto), Merkle roots and little-endian encoding helpers for hashing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/core/record.hpp"

namespace ledgerfl::chain {

using Hash = core::Hash32;

Hash sha256(std::span<const std::uint8_t> bytes);

// Incremental SHA-256 (OpenSSL EVP): update() any number of times, then digest() once.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::span<const std::uint8_t> bytes);
  Hash digest();  // finishes the stream; update() may not follow

 private:
  void* ctx_;  // EVP_MD_CTX
};
std::string to_hex(const Hash& h);

// Merkle root over leaf hashes, Bitcoin's construction (Nakamoto 2008, section 7): pairs are
// hashed as SHA-256(left || right), an odd last node is paired with itself, and the root of no
// leaves is SHA-256 of the empty string.
Hash merkle_root(std::span<const Hash> leaves);

// Fixed-width little-endian serialisation: the bytes that block and transaction hashes cover.
// Headers and transactions encode to at most a few hundred bytes, kept in an inline buffer so
// hashing allocates nothing.
class Encoder {
 public:
  static constexpr std::size_t kCapacity = 256;
  Encoder& u64(std::uint64_t v) {
    check(8);
    for (int i = 0; i < 8; ++i) buf_[n_++] = static_cast<std::uint8_t>(v >> (8 * i));
    return *this;
  }
  Encoder& i64(std::int64_t v) { return u64(static_cast<std::uint64_t>(v)); }
  Encoder& hash(const Hash& h) {
    check(h.size());
    for (std::uint8_t b : h) buf_[n_++] = b;
    return *this;
  }
  Hash digest() const { return sha256(bytes()); }
  std::span<const std::uint8_t> bytes() const { return {buf_.data(), n_}; }

 private:
  void check(std::size_t more) const {
    if (n_ + more > kCapacity) throw std::length_error("chain::Encoder capacity exceeded");
  }
  std::array<std::uint8_t, kCapacity> buf_{};
  std::size_t n_ = 0;
};

}  // namespace ledgerfl::chain
