// SHA-256 through OpenSSL's EVP interface, and Bitcoin-style Merkle roots.
#include "sim/chain/hash.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace ledgerfl::chain {

namespace {
// One fetched digest and one context per thread: EVP_Digest with the implicit fetch costs about
// a microsecond per call in OpenSSL 3, several times the hash of a short input.
struct Sha256Ctx {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Sha256Ctx() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
};
}  // namespace

Hash sha256(std::span<const std::uint8_t> bytes) {
  thread_local Sha256Ctx c;
  Hash out{};
  unsigned int len = 0;
  if (!c.md || !c.ctx || EVP_DigestInit_ex(c.ctx, c.md, nullptr) != 1 ||
      EVP_DigestUpdate(c.ctx, bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(c.ctx, out.data(), &len) != 1 || len != out.size())
    throw std::runtime_error("OpenSSL SHA-256 failed");
  return out;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  thread_local Sha256Ctx c;  // the fetched digest, shared by the thread's streams
  if (!ctx_ || !c.md || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), c.md, nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 failed");
}
Sha256Stream::~Sha256Stream() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}
void Sha256Stream::update(std::span<const std::uint8_t> bytes) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size()) != 1)
    throw std::runtime_error("OpenSSL SHA-256 failed");
}
Hash Sha256Stream::digest() {
  Hash out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len) != 1 ||
      len != out.size())
    throw std::runtime_error("OpenSSL SHA-256 failed");
  return out;
}

std::string to_hex(const Hash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (std::uint8_t b : h) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

Hash merkle_root(std::span<const Hash> leaves) {
  if (leaves.empty()) return sha256({});
  std::vector<Hash> level(leaves.begin(), leaves.end());
  std::uint8_t pair[64];
  while (level.size() > 1) {
    std::vector<Hash> next((level.size() + 1) / 2);
    for (std::size_t i = 0; i < next.size(); ++i) {
      const Hash& l = level[2 * i];
      const Hash& r = 2 * i + 1 < level.size() ? level[2 * i + 1] : l;
      std::copy(l.begin(), l.end(), pair);
      std::copy(r.begin(), r.end(), pair + 32);
      next[i] = sha256(pair);
    }
    level.swap(next);
  }
  return level[0];
}

}  // namespace ledgerfl::chain
