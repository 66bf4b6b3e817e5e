// Internal state of a scenario Document; keeps toml++ out of the public header.
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sim/scenario/params.hpp"

namespace ledgerfl::scenario {

struct Document::Impl {
  std::string source_name;
  std::string text;  // the file as given
  toml::table root;  // after overrides, with the defaults that reads used

  // Nodes set by --set (and the tables an override created), with their source name
  // "--set a.b.c" and application order.
  struct Override {
    std::size_t seq;
    std::string source;
  };
  std::unordered_map<const toml::node*, Override> overrides;
  std::size_t override_count = 0;
  bool dry = false;  // validation only (ParamView::dry)

  // Nodes inserted by reads: defaults that were used and tables created by table(). They are
  // not "present" for has()/keys() and never reported as unused.
  std::unordered_set<const toml::node*> synthetic;

  // Tables some component opened as a ParamView: the keys it asked for (in order, for
  // suggestions) and the keys it used.
  struct TableUse {
    std::vector<std::string> known;
    std::set<std::string, std::less<>> used;
    void know(std::string_view key);
  };
  std::unordered_map<const toml::table*, TableUse> opened;
  // View path ("learning.model", "agents.attack[1]") -> its table.
  std::map<std::string, toml::table*, std::less<>> views;

  // Registers `t` as the table of the view at `path`.
  void open(const std::string& path, toml::table* t);
  toml::table& table_of(std::string_view path) const;

  bool is_synthetic(const toml::node* n) const { return synthetic.count(n) != 0; }
  // Position of a value node: "--set a.b" for overrides, the file position if the parser gave
  // one, else the bare file name (defaults, the root table).
  SourcePos pos_of(const toml::node* n) const;
  // Position of a key/value pair: the key for file keys, the override for overridden values.
  SourcePos pos_of_key(const toml::key& k, const toml::node* n) const;
  // Sort key for "file order": file positions first, then overrides in the order given, then
  // everything else.
  std::tuple<int, std::size_t, std::size_t> order_of(const toml::key& k, const toml::node* n) const;
  // Drops `n` and everything below it from the tracking tables (before the node is destroyed,
  // so a recycled address can never inherit its state).
  void forget(const toml::node* n);
  // Records `n` and everything below it as set by the override `source`.
  void mark_override(const toml::node* n, const std::string& source, std::size_t seq);
};

// "learning.model" + "type" -> "learning.model.type"; keys that are not bare TOML keys are
// quoted so that paths stay unambiguous: a."b.c".
std::string quote_key(std::string_view key);
std::string join_path(std::string_view path, std::string_view key);
// "q.toml:3:6", "q.toml" (no position) or "--set a.b".
std::string location(const SourcePos& pos);
// "q.toml:3:6: learning.lr: expected ..." / "q.toml: learning.lr: ..." / "--set a.b: a.b: ...".
std::string format_error(const SourcePos& pos, std::string_view key_path, std::string_view msg);
// A TOML basic string literal: "fast", with escapes.
std::string quote_string(std::string_view s);
// The value as the user wrote it, for messages: "fast" (quoted), 3, 2.5, true, an array.
std::string show_value(const toml::node& n);
// Its type and value: string "fast", integer 3, float 2.5, boolean true, an array, a table.
std::string describe(const toml::node& n);

// The first byte of `text` that is not part of well-formed UTF-8 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), with the line and column (in characters) where it is.
struct Utf8Error {
  std::size_t offset = 0;
  unsigned byte = 0;
  int line = 0, column = 0;
  bool truncated = false;  // the text ends inside a multi-byte character
};
std::optional<Utf8Error> first_invalid_utf8(std::string_view text);
std::string describe(const Utf8Error& e);
// Shortest round-trip text of a double ("0.1", "1e-07", "3").
std::string show_number(double v);
// The table as TOML text, in file order, defaults last (toml_writer.cpp).
std::string write_toml(const Document::Impl& d);

}  // namespace ledgerfl::scenario
