// SHA-256 through OpenSSL's EVP interface, and Bitcoin-style Merkle roots.
#include "sim/chain/hash.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace ledgerfl::chain {

Hash sha256(std::span<const std::uint8_t> bytes) {
  Hash out{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size())
    throw std::runtime_error("OpenSSL EVP_Digest(SHA-256) failed");
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
