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

MdCtxPtr context_for(evp_pkey_st* key, bool sign) {
  MdCtxPtr c(EVP_MD_CTX_new());
  if (!c || (sign ? EVP_DigestSignInit(c.get(), nullptr, nullptr, nullptr, key)
                  : EVP_DigestVerifyInit(c.get(), nullptr, nullptr, nullptr, key)) != 1)
    throw std::runtime_error("OpenSSL: Ed25519 context initialisation failed");
  return c;
}
}  // namespace

void PkeyFree::operator()(evp_pkey_st* k) const {
  EVP_PKEY_free(k);
}
void MdCtxFree::operator()(evp_md_ctx_st* c) const {
  EVP_MD_CTX_free(c);
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
    ctx_.push_back(context_for(k.get(), true));
    keys_.push_back(std::move(k));
    public_.push_back(pub);
  }
}

Signature ValidatorKeys::sign(std::uint32_t v, std::span<const std::uint8_t> message) const {
  std::uint8_t sig[64];
  std::size_t len = sizeof sig;
  if (EVP_DigestSign(ctx_.at(v).get(), sig, &len, message.data(), message.size()) != 1 ||
      len != sizeof sig)
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
    ctx_.push_back(context_for(k.get(), false));
    keys_.push_back(std::move(k));
  }
}

bool KeyRegistry::verify(std::int64_t validator, std::span<const std::uint8_t> message,
                         const Signature& sig) const {
  if (validator < 0 || validator >= static_cast<std::int64_t>(keys_.size())) return false;
  std::uint8_t raw[64];
  std::copy(sig.r.begin(), sig.r.end(), raw);
  std::copy(sig.s.begin(), sig.s.end(), raw + 32);
  return EVP_DigestVerify(ctx_[static_cast<std::size_t>(validator)].get(), raw, sizeof raw,
                          message.data(), message.size()) == 1;
}

}  // namespace ledgerfl::chain
