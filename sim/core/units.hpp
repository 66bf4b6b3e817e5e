// Parsing of the physical units that appear in scenario files: sizes and data rates.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ledgerfl::core {

// Sizes in bytes: "32KiB", "1.5 MB", "512B", "2GiB", "100" (plain number = bytes).
// SI prefixes (k, M, G, T) are powers of 1000, binary prefixes (Ki, Mi, Gi, Ti) powers of 1024.
std::optional<std::int64_t> parse_size(std::string_view text);

// Data rates in bits per second: "100Mbps", "1 Gbps", "56kbps", "10MB/s" (bytes/s x 8),
// "1e6" (plain number = bit/s). Returns bits per second as a double (> 0).
std::optional<double> parse_rate(std::string_view text);

}  // namespace ledgerfl::core
