// Ed25519 through OpenSSL's EVP interface (EVP_PKEY_ED25519, one-shot EVP_DigestSign/Verify).
#include "sim/chain/keys.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "sim/core/rng.hpp"

namespace ledgerfl::chain {

namespace {
// Domain tags keep a block signature from being replayed as a precommit and vice versa.
constexpr std::uint64_t kBlockDomain = 0x4b434f4c422d4c46;  // "FL-BLOCK", little-endian
constexpr std::uint64_t kVoteDomain = 0x544f564d432d4c46;   // "FL-CMVOT", little-endian

struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
};
EVP_MD_CTX* thread_ctx() {
  thread_local MdCtx c;
  if (!c.ctx) throw std::runtime_error("OpenSSL: EVP_MD_CTX_new failed");
  EVP_MD_CTX_reset(c.ctx);
  return c.ctx;
}
}  // namespace

void PkeyFree::operator()(evp_pkey_st* k) const {
  EVP_PKEY_free(k);
}

Encoder block_signing_message(const Hash& block_hash) {
  Encoder e;
  e.u64(kBlockDomain).hash(block_hash);
  return e;
}

Encoder precommit_signing_message(std::int64_t height, std::int64_t round, const Hash& block_hash) {
  Encoder e;
  e.u64(kVoteDomain).i64(height).i64(round).hash(block_hash);
  return e;
}

ValidatorKeys::ValidatorKeys(std::uint64_t seed, std::uint32_t validators) {
  keys_.reserve(validators);
  public_.reserve(validators);
  for (std::uint32_t v = 0; v < validators; ++v) {
    core::Rng rng(seed, "chain.validator_key", v);
    Encoder stream;
    for (int i = 0; i < 8; ++i) stream.u64(rng.next());
    const Hash priv = stream.digest();
    PkeyPtr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv.data(), priv.size()));
    PublicKey pub{};
    std::size_t len = pub.size();
    if (!k || EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) != 1 || len != pub.size())
      throw std::runtime_error("OpenSSL: Ed25519 key derivation failed");
    keys_.push_back(std::move(k));
    public_.push_back(pub);
  }
}

Signature ValidatorKeys::sign(std::uint32_t v, std::span<const std::uint8_t> message) const {
  EVP_MD_CTX* ctx = thread_ctx();
  std::uint8_t sig[64];
  std::size_t len = sizeof sig;
  if (EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, keys_.at(v).get()) != 1 ||
      EVP_DigestSign(ctx, sig, &len, message.data(), message.size()) != 1 || len != sizeof sig)
    throw std::runtime_error("OpenSSL: Ed25519 signing failed");
  Signature s;
  std::copy(sig, sig + 32, s.r.begin());
  std::copy(sig + 32, sig + 64, s.s.begin());
  return s;
}

KeyRegistry::KeyRegistry(std::span<const PublicKey> keys) {
  keys_.reserve(keys.size());
  for (const PublicKey& pub : keys) {
    PkeyPtr k(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
    if (!k) throw std::runtime_error("not an Ed25519 public key: " + to_hex(pub));
    keys_.push_back(std::move(k));
  }
}

bool KeyRegistry::verify(std::int64_t validator, std::span<const std::uint8_t> message,
                         const Signature& sig) const {
  if (validator < 0 || validator >= static_cast<std::int64_t>(keys_.size())) return false;
  std::uint8_t raw[64];
  std::copy(sig.r.begin(), sig.r.end(), raw);
  std::copy(sig.s.begin(), sig.s.end(), raw + 32);
  EVP_MD_CTX* ctx = thread_ctx();
  return EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr,
                              keys_[static_cast<std::size_t>(validator)].get()) == 1 &&
         EVP_DigestVerify(ctx, raw, sizeof raw, message.data(), message.size()) == 1;
}

}  // namespace ledgerfl::chain
