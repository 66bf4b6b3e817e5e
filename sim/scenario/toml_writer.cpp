// Writes the resolved scenario as TOML: file order, shortest round-trip floats, defaults last.
//
// toml++'s own formatter prints floats with 17 significant digits on GCC (0.1 becomes
// 0.10000000000000001), which makes the resolved scenario hard to read; this writer prints the
// shortest text that parses back to the same double (fmt) and leaves the rest to TOML rules.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "sim/scenario/detail/document_impl.hpp"

namespace ledgerfl::scenario {

namespace {

using Entry = std::pair<const toml::key*, const toml::node*>;

// Keys of `t` in file order; overrides after the file's keys, defaults last.
std::vector<Entry> ordered(const Document::Impl& d, const toml::table& t) {
  std::vector<std::pair<std::tuple<int, std::size_t, std::size_t>, Entry>> es;
  for (auto&& [k, n] : t) es.push_back({d.order_of(k, &n), {&k, &n}});
  std::stable_sort(es.begin(), es.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Entry> out;
  for (auto& e : es) out.push_back(e.second);
  return out;
}

bool is_table_array(const toml::node& n) {
  const auto* a = n.as_array();
  return a && !a->empty() && a->is_array_of_tables();
}

// A section child: a non-inline table or an array of tables (written as [x] / [[x]]).
bool is_section(const toml::node& n) {
  if (const auto* t = n.as_table()) return !t->is_inline();
  return is_table_array(n);
}

void write_value(std::string& out, const Document::Impl& d, const toml::node& n);

void write_inline_table(std::string& out, const Document::Impl& d, const toml::table& t) {
  if (t.empty()) {
    out += "{}";
    return;
  }
  out += "{ ";
  bool first = true;
  for (const auto& [k, n] : ordered(d, t)) {
    if (!first) out += ", ";
    first = false;
    out += quote_key(k->str()) + " = ";
    write_value(out, d, *n);
  }
  out += " }";
}

void write_value(std::string& out, const Document::Impl& d, const toml::node& n) {
  if (auto* f = n.as_floating_point()) {
    std::string s = show_number(f->get());
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // "3" -> "3.0"; inf/nan ok
    out += s;
  } else if (auto* s = n.as_string()) {
    out += quote_string(s->get());
  } else if (auto* a = n.as_array()) {
    out += "[";
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i) out += ", ";
      write_value(out, d, *a->get(i));
    }
    out += "]";
  } else if (auto* t = n.as_table()) {
    write_inline_table(out, d, *t);
  } else {
    out += show_value(n);  // integers, booleans, dates and times print as TOML already
  }
}

void write_section(std::string& out, const Document::Impl& d, const toml::table& t,
                   const std::string& path, bool array_element) {
  const auto entries = ordered(d, t);
  const bool has_values = std::any_of(entries.begin(), entries.end(),
                                      [](const Entry& e) { return !is_section(*e.second); });
  const bool has_sections =
      entries.size() !=
      static_cast<std::size_t>(std::count_if(
          entries.begin(), entries.end(), [](const Entry& e) { return !is_section(*e.second); }));
  if (!path.empty() && (array_element || has_values || !has_sections)) {
    if (!out.empty()) out += "\n";
    out += array_element ? "[[" + path + "]]\n" : "[" + path + "]\n";
  }
  for (const auto& [k, n] : entries) {
    if (is_section(*n)) continue;
    out += quote_key(k->str()) + " = ";
    write_value(out, d, *n);
    out += "\n";
  }
  for (const auto& [k, n] : entries) {
    if (!is_section(*n)) continue;
    const std::string sub = path.empty() ? quote_key(k->str()) : path + "." + quote_key(k->str());
    if (const auto* st = n->as_table()) {
      write_section(out, d, *st, sub, false);
    } else {
      for (const auto& el : *n->as_array()) write_section(out, d, *el.as_table(), sub, true);
    }
  }
}

}  // namespace

std::string write_toml(const Document::Impl& d) {
  std::string out;
  write_section(out, d, d.root, "", false);
  return out;
}

}  // namespace ledgerfl::scenario
