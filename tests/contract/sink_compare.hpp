// Bit-exact comparison of two runs' in-memory results (tests/contract): every /rounds metric and
// every row of the named tables, doubles compared by their bytes.
#pragma once

#include <cstring>
#include <initializer_list>
#include <string>
#include <variant>

#include "sim/core/record.hpp"

namespace ledgerfl::testing {

inline const core::MemorySink::Table* table(const core::MemorySink& s, const std::string& name) {
  for (const auto& [n, t] : s.tables)
    if (n == name) return t.get();
  return nullptr;
}

template <class V>
bool same_cells(const V& a, const V& b) {
  if (a.index() != b.index()) return false;
  if (const double* x = std::get_if<double>(&a)) {
    const double y = std::get<double>(b);
    return std::memcmp(x, &y, sizeof y) == 0;
  }
  return a == b;
}

// False also when a named table is missing from either run.
inline bool same_results(const core::MemorySink& a, const core::MemorySink& b,
                         std::initializer_list<const char*> tables) {
  if (a.rounds.size() != b.rounds.size()) return false;
  for (std::size_t i = 0; i < a.rounds.size(); ++i) {
    const auto& x = a.rounds[i].metrics;
    const auto& y = b.rounds[i].metrics;
    if (x.size() != y.size()) return false;
    for (std::size_t k = 0; k < x.size(); ++k)
      if (x[k].first != y[k].first || !same_cells(x[k].second, y[k].second)) return false;
  }
  for (const char* t : tables) {
    const auto *p = table(a, t), *q = table(b, t);
    if (!p || !q || p->rows.size() != q->rows.size()) return false;
    for (std::size_t i = 0; i < p->rows.size(); ++i)
      for (std::size_t k = 0; k < p->rows[i].size(); ++k)
        if (!same_cells(p->rows[i][k], q->rows[i][k])) return false;
  }
  return true;
}

}  // namespace ledgerfl::testing
