// Scenario documents and the parameter views through which every component reads its own table.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/time.hpp"

namespace ledgerfl::scenario {

// Bad user input (scenario file, --set override, unknown component name...). The message is
// complete and positioned: "quickstart.toml:12:7: learning.model.hidden: expected ... (did you
// mean ...?)". The CLI prints it once and exits with code 2 (DESIGN.md exit codes).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Numeric bounds for a read; the message names the rule: "must be > 0", "must be in [0, 1]".
struct Bounds {
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
  static Bounds positive() { return {0.0, std::nullopt, true, false}; }
  static Bounds non_negative() { return {0.0, std::nullopt, false, false}; }
  static Bounds at_least(double v) { return {v, std::nullopt, false, false}; }
  static Bounds between(double lo, double hi) { return {lo, hi, false, false}; }  // closed
  static Bounds probability() { return between(0.0, 1.0); }
};

struct SourcePos {
  std::string file;
  int line = 0, column = 0;  // 1-based; 0 = unknown (e.g. a default)
};

class Document;

// A view of one TOML table of a Document, addressed by its key path ("learning.model").
// Every read marks the key as used and records the key as one the component knows (for
// "did you mean" suggestions); a default that is used is written into the resolved document.
// Reads of a present key with the wrong type or out of bounds throw InputError. A read with no
// default (std::nullopt) of an absent key throws InputError "missing required key".
// Views are cheap handles; they stay valid while their Document lives.
class ParamView {
 public:
  const std::string& path() const { return path_; }  // "" for the root
  std::string key_path(std::string_view key) const;  // path + "." + key
  bool has(std::string_view key) const;
  // Present and a table (for parameters that take either a value or a table, e.g. a fixed
  // value or a distribution {type = "lognormal", ...}).
  bool is_table(std::string_view key) const;
  std::vector<std::string> keys() const;  // keys present in this table, in file order

  double number(std::string_view key, std::optional<double> def, Bounds b = {}) const;
  std::int64_t integer(std::string_view key, std::optional<std::int64_t> def, Bounds b = {}) const;
  bool boolean(std::string_view key, std::optional<bool> def) const;
  std::string string(std::string_view key, std::optional<std::string> def) const;
  // One of `options`; otherwise an error listing them with the nearest one.
  std::string choice(std::string_view key, std::span<const std::string_view> options,
                     std::optional<std::string> def) const;
  // Durations need a unit ("250ms", "2s", "1.5h"); sizes in bytes ("32KiB", plain integer =
  // bytes); rates in bit/s ("100Mbps"). Units are parsed by sim/core (time.hpp, units.hpp).
  core::SimTime duration(std::string_view key, std::optional<core::SimTime> def,
                         Bounds seconds_bounds = Bounds::non_negative()) const;
  std::int64_t size(std::string_view key, std::optional<std::int64_t> def) const;
  double rate(std::string_view key, std::optional<double> def) const;
  std::vector<double> number_list(std::string_view key, std::optional<std::vector<double>> def,
                                  Bounds each = {}) const;
  std::vector<std::int64_t> integer_list(std::string_view key,
                                         std::optional<std::vector<std::int64_t>> def,
                                         Bounds each = {}) const;
  std::vector<std::string> string_list(std::string_view key,
                                       std::optional<std::vector<std::string>> def) const;

  // Sub-table `key`. If absent: table() creates an empty one in the resolved document (so all
  // its reads take defaults); optional_table() returns nullopt. A non-table value is an error.
  ParamView table(std::string_view key) const;
  std::optional<ParamView> optional_table(std::string_view key) const;
  // Array of tables ([[key]] in TOML); empty if absent.
  std::vector<ParamView> table_array(std::string_view key) const;

  // Marks a key as known and used without reading it (e.g. a selector read by the caller).
  void mark_used(std::string_view key) const;
  // Throws InputError positioned at `key` (or at the table if key is empty) for custom rules:
  // p.fail("f", "= 5 violates 2f + 2 < n (n = 10)").
  [[noreturn]] void fail(std::string_view key, const std::string& message) const;
  SourcePos pos(std::string_view key) const;
  // A dry document (Document::set_dry) is read for validation only: factories read and check
  // every parameter as usual but allocate nothing large (no data set loaded or generated, no
  // parameter vectors), so `validate` costs what parsing costs. One code path reads every key,
  // so leftover keys are reported the same way in both modes.
  bool dry() const;

 private:
  friend class Document;
  ParamView(Document* doc, std::string path) : doc_(doc), path_(std::move(path)) {}
  Document* doc_;
  std::string path_;
};

// A parsed scenario: the TOML as given, overrides, used-key tracking, the resolved document.
class Document {
 public:
  // Throws InputError for an unreadable file or malformed TOML (file:line:column: message).
  static std::unique_ptr<Document> load(const std::string& path);
  static std::unique_ptr<Document> parse(std::string_view text, std::string source_name);
  ~Document();

  // "--set a.b.c=value": the value is parsed as a TOML value ("0.1", "true", "[1,2]", "\"x\"");
  // a bare word that is not valid TOML is taken as a string (so --set model.type=mlp works).
  // If the key exists, the new value must have a compatible type (integer -> float is fine).
  void apply_override(std::string_view assignment);

  ParamView root();
  void set_dry(bool dry);  // see ParamView::dry()
  // Throws InputError for the first key nobody read: position, path and the nearest known key
  // of that table. Call after every component has been built.
  void check_unused() const;

  const std::string& source_name() const;
  const std::string& original_text() const;  // the file as given
  std::string resolved_toml() const;         // after overrides, with every default used filled in

  struct Impl;

 private:
  friend class ParamView;
  Document();
  std::unique_ptr<Impl> impl_;
};

// Levenshtein distance and the nearest candidate (nullopt if nothing is reasonably close).
std::size_t edit_distance(std::string_view a, std::string_view b);
std::optional<std::string> nearest(std::string_view word, std::span<const std::string> candidates);

}  // namespace ledgerfl::scenario
