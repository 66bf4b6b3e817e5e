// Ed25519 validator keys (OpenSSL): deterministic key pairs from (seed, validator id), the
// messages validators sign (block headers, BFT precommits), signing and verification.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sim/chain/hash.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY and EVP_MD_CTX, kept out of this header
struct evp_md_ctx_st;

namespace ledgerfl::chain {

using PublicKey = Hash;  // Ed25519 public key, 32 bytes (RFC 8032 section 5.1.5)
// An Ed25519 signature R || S (RFC 8032 section 5.1.6), stored as two 32-byte columns.
struct Signature {
  Hash r{}, s{};
  bool operator==(const Signature&) const = default;
};

// What a proposer signs for the block it records: a domain tag and the block hash (which covers
// every header field, see block_hash).
Encoder block_signing_message(const Hash& block_hash);
// What a BFT validator signs when it precommits: (height, round, block hash), as in
// Tendermint's canonical vote (Buchman, Kwon, Milosevic 2018, section 4).
Encoder precommit_signing_message(std::int64_t height, std::int64_t round, const Hash& block_hash);

struct PkeyFree {
  void operator()(evp_pkey_st* k) const;
};
using PkeyPtr = std::unique_ptr<evp_pkey_st, PkeyFree>;
struct MdCtxFree {
  void operator()(evp_md_ctx_st* c) const;
};
// A signing or verification context initialised once per key: OpenSSL 3 fetches the algorithm
// and builds the context in EVP_DigestSignInit, which costs several times the Ed25519
// operation itself; the one-shot EVP_DigestSign/Verify may then be called again on it.
using MdCtxPtr = std::unique_ptr<evp_md_ctx_st, MdCtxFree>;

// The private keys of validators [0, n). Validator v's 32-byte Ed25519 seed (the RFC 8032
// private key) is SHA-256 of 64 bytes of the keyed stream core::Rng(seed, "chain.validator_key",
// v): the same run seed gives the same keys and, Ed25519 signing being deterministic, the same
// signatures. Only the simulation holds these; the file records the public keys. Not
// thread-safe (one signing context per key).
class ValidatorKeys {
 public:
  ValidatorKeys(std::uint64_t seed, std::uint32_t validators);
  std::uint32_t size() const { return static_cast<std::uint32_t>(keys_.size()); }
  const PublicKey& public_key(std::uint32_t v) const { return public_.at(v); }
  Signature sign(std::uint32_t v, std::span<const std::uint8_t> message) const;

 private:
  std::vector<PkeyPtr> keys_;
  std::vector<MdCtxPtr> ctx_;
  std::vector<PublicKey> public_;
};

// Registered public keys (the /ledger/validators table) for verification. Not thread-safe.
class KeyRegistry {
 public:
  // Throws std::runtime_error if a key is not a valid Ed25519 public key encoding.
  explicit KeyRegistry(std::span<const PublicKey> keys);
  std::uint32_t size() const { return static_cast<std::uint32_t>(keys_.size()); }
  // False for an unknown validator or a signature that does not verify.
  bool verify(std::int64_t validator, std::span<const std::uint8_t> message,
              const Signature& sig) const;

 private:
  std::vector<PkeyPtr> keys_;
  std::vector<MdCtxPtr> ctx_;
};

}  // namespace ledgerfl::chain
