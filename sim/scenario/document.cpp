// Scenario documents: loading and parsing (toml++), --set overrides, unused-key reports.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "sim/scenario/detail/document_impl.hpp"
#include "sim/scenario/suggest.hpp"

namespace ledgerfl::scenario {

// ---------------------------------------------------------------------------------------------
// Small text helpers shared with param_view.cpp and toml_writer.cpp.

std::string quote_key(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(key) : quote_string(key);
}

std::string join_path(std::string_view path, std::string_view key) {
  if (path.empty()) return quote_key(key);
  return std::string(path) + "." + quote_key(key);
}

std::string location(const SourcePos& pos) {
  if (pos.line > 0) return fmt::format("{}:{}:{}", pos.file, pos.line, pos.column);
  return pos.file;
}

std::string format_error(const SourcePos& pos, std::string_view key_path, std::string_view msg) {
  std::string s = location(pos);
  if (!s.empty()) s += ": ";
  if (!key_path.empty()) s += std::string(key_path) + ": ";
  s += msg;
  return s;
}

std::string quote_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
        else
          out += ch;
    }
  }
  return out + "\"";
}

std::string show_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

std::string show_value(const toml::node& n) {
  if (auto* s = n.as_string()) {
    // Long strings are cut so that one message stays on one line.
    const std::string& v = s->get();
    if (v.size() > 60) return quote_string(v.substr(0, 57)) + "...";
    return quote_string(v);
  }
  if (auto* i = n.as_integer()) return fmt::format("{}", i->get());
  if (auto* f = n.as_floating_point()) return show_number(f->get());
  if (auto* b = n.as_boolean()) return b->get() ? "true" : "false";
  std::ostringstream os;
  if (auto* d = n.as_date()) {
    os << d->get();
    return os.str();
  }
  if (auto* t = n.as_time()) {
    os << t->get();
    return os.str();
  }
  if (auto* dt = n.as_date_time()) {
    os << dt->get();
    return os.str();
  }
  if (n.is_array()) return "an array";
  return "a table";
}

std::string describe(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "string " + show_value(n);
    case toml::node_type::integer:
      return "integer " + show_value(n);
    case toml::node_type::floating_point:
      return "float " + show_value(n);
    case toml::node_type::boolean:
      return "boolean " + show_value(n);
    case toml::node_type::date:
      return "date " + show_value(n);
    case toml::node_type::time:
      return "time " + show_value(n);
    case toml::node_type::date_time:
      return "date-time " + show_value(n);
    case toml::node_type::array:
      return "an array";
    default:
      return "a table";
  }
}

// ---------------------------------------------------------------------------------------------
// Document::Impl

void Document::Impl::TableUse::know(std::string_view key) {
  if (std::find(known.begin(), known.end(), key) == known.end()) known.emplace_back(key);
}

void Document::Impl::open(const std::string& path, toml::table* t) {
  views[path] = t;
  opened[t];  // creates the use record if needed
}

toml::table& Document::Impl::table_of(std::string_view path) const {
  auto it = views.find(path);
  if (it == views.end())
    throw std::logic_error("scenario: ParamView '" + std::string(path) + "' has no table");
  return *it->second;
}

SourcePos Document::Impl::pos_of(const toml::node* n) const {
  if (auto it = overrides.find(n); it != overrides.end()) return {it->second.source, 0, 0};
  if (n == &root || is_synthetic(n)) return {source_name, 0, 0};
  const auto& b = n->source().begin;
  if (b) return {source_name, static_cast<int>(b.line), static_cast<int>(b.column)};
  return {source_name, 0, 0};
}

SourcePos Document::Impl::pos_of_key(const toml::key& k, const toml::node* n) const {
  if (overrides.count(n) || is_synthetic(n)) return pos_of(n);
  const auto& b = k.source().begin;
  if (b) return {source_name, static_cast<int>(b.line), static_cast<int>(b.column)};
  return pos_of(n);
}

std::tuple<int, std::size_t, std::size_t> Document::Impl::order_of(const toml::key& k,
                                                                   const toml::node* n) const {
  // A key written in the file keeps its place even if --set replaced its value.
  const auto& ks = k.source();
  if (ks.begin && ks.path && *ks.path == source_name)
    return {0, static_cast<std::size_t>(ks.begin.line), static_cast<std::size_t>(ks.begin.column)};
  if (auto it = overrides.find(n); it != overrides.end()) return {1, it->second.seq, 0};
  const SourcePos p = pos_of(n);
  if (p.line > 0) return {0, static_cast<std::size_t>(p.line), static_cast<std::size_t>(p.column)};
  return {2, 0, 0};
}

void Document::Impl::forget(const toml::node* n) {
  overrides.erase(n);
  synthetic.erase(n);
  if (auto* t = n->as_table()) {
    opened.erase(t);
    for (auto it = views.begin(); it != views.end();)
      it = (it->second == t) ? views.erase(it) : std::next(it);
    for (auto&& [k, child] : *t) forget(&child);
  } else if (auto* a = n->as_array()) {
    for (const auto& child : *a) forget(&child);
  }
}

void Document::Impl::mark_override(const toml::node* n, const std::string& source,
                                   std::size_t seq) {
  overrides[n] = {seq, source};
  if (auto* t = n->as_table()) {
    for (auto&& [k, child] : *t) mark_override(&child, source, seq);
  } else if (auto* a = n->as_array()) {
    for (const auto& child : *a) mark_override(&child, source, seq);
  }
}

// ---------------------------------------------------------------------------------------------
// UTF-8: toml++ 3.3.0 (Debian 12) reaches undefined behaviour on some invalid UTF-8 (an
// `unreachable` in its unicode tables, upstream issue 295), so text is checked before it parses.

std::optional<Utf8Error> first_invalid_utf8(std::string_view text) {
  int line = 1, column = 1;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    }
    std::optional<std::size_t> bad;  // offset of the offending byte
    bool truncated = false;
    if (len == 0) bad = i;  // 0x80-0xC1 or 0xF5-0xFF cannot start a character
    for (std::size_t k = 1; !bad && k < len; ++k) {
      if (i + k >= n) {
        bad = i;
        truncated = true;
        break;
      }
      const auto b = static_cast<unsigned char>(text[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) bad = i + k;
    }
    if (bad) {
      Utf8Error e;
      e.offset = *bad;
      e.byte = static_cast<unsigned char>(text[*bad]);
      e.line = line;
      e.column = column;  // of the character the bad byte is in (1-based, counted in characters)
      e.truncated = truncated;
      return e;
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
  return std::nullopt;
}

std::string describe(const Utf8Error& e) {
  if (e.truncated)
    return fmt::format("invalid UTF-8: the text ends inside a multi-byte character (byte 0x{:02X})",
                       e.byte);
  return fmt::format("invalid UTF-8: byte 0x{:02X} (byte offset {}) is not valid here", e.byte,
                     e.offset);
}

// ---------------------------------------------------------------------------------------------
// Loading and parsing

Document::Document() : impl_(std::make_unique<Impl>()) {}
Document::~Document() = default;

std::unique_ptr<Document> Document::load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path + ": cannot read scenario file: it is a directory");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const char* why = errno ? std::strerror(errno) : "cannot open";
    throw InputError(path + ": cannot read scenario file: " + why);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    const char* why = errno ? std::strerror(errno) : "read error";
    throw InputError(path + ": cannot read scenario file: " + why);
  }
  return parse(buf.str(), path);
}

std::unique_ptr<Document> Document::parse(std::string_view text, std::string source_name) {
  std::unique_ptr<Document> doc(new Document());
  Impl& d = *doc->impl_;
  d.source_name = std::move(source_name);
  d.text = std::string(text);
  if (const auto bad = first_invalid_utf8(d.text))
    throw InputError(format_error({d.source_name, bad->line, bad->column}, "", describe(*bad)));
  try {
    d.root = toml::parse(d.text, d.source_name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    SourcePos p{d.source_name, static_cast<int>(b.line), static_cast<int>(b.column)};
    throw InputError(format_error(p, "", "malformed TOML: " + std::string(e.description())));
  }
  return doc;
}

const std::string& Document::source_name() const {
  return impl_->source_name;
}
const std::string& Document::original_text() const {
  return impl_->text;
}
std::string Document::resolved_toml() const {
  return write_toml(*impl_);
}

void Document::set_dry(bool dry) {
  impl_->dry = dry;
}

ParamView Document::root() {
  impl_->open("", &impl_->root);
  return ParamView(this, "");
}

// ---------------------------------------------------------------------------------------------
// Overrides: --set a.b.c=value

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What a value of the same kind as `n` is called in "expected ..." messages.
std::string kind_of(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::integer:
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::boolean:
      return "true or false";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    default:
      return "a date-time";
  }
}

struct PathPart {
  std::string key;
  std::optional<std::size_t> index;  // "attack[1]" selects element 1 of an array of tables
};

}  // namespace

void Document::apply_override(std::string_view assignment) {
  Impl& d = *impl_;
  const std::string arg = "--set " + std::string(assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos)
    throw InputError(arg + ": expected KEY=VALUE, e.g. --set learning.rounds=50");
  if (const auto bad = first_invalid_utf8(assignment)) {
    // Name the key when it is readable (the bad byte is in the value).
    const auto eq_at = assignment.find('=');
    const std::string key = eq_at != std::string_view::npos && bad->offset > eq_at
                                ? " " + std::string(trim(assignment.substr(0, eq_at)))
                                : "";
    throw InputError(fmt::format("--set{}: column {}: {}", key, bad->column, describe(*bad)));
  }
  const std::string_view key_text = trim(assignment.substr(0, eq));
  const std::string_view value_text = trim(assignment.substr(eq + 1));
  if (key_text.empty())
    throw InputError(arg + ": the key is empty; expected KEY=VALUE, e.g. --set learning.rounds=50");
  const bool read_started =
      d.views.size() > 1 || std::any_of(d.opened.begin(), d.opened.end(),
                                        [](const auto& u) { return !u.second.known.empty(); });
  if (read_started)
    throw std::logic_error("scenario: apply_override() called after components read the document");

  // Split "a.b[1].c" into parts.
  std::vector<PathPart> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = key_text.find('.', start);
    std::string_view seg = trim(key_text.substr(
        start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    PathPart part;
    if (!seg.empty() && seg.back() == ']') {
      const auto open = seg.rfind('[');
      std::size_t idx = 0;
      const std::string_view digits = open == std::string_view::npos
                                          ? std::string_view{}
                                          : seg.substr(open + 1, seg.size() - open - 2);
      const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), idx);
      if (open == std::string_view::npos || digits.empty() || ec != std::errc() ||
          p != digits.data() + digits.size())
        throw InputError(arg + ": bad index in \"" + std::string(seg) +
                         "\"; expected KEY[N] with N a number");
      part.index = idx;
      seg = trim(seg.substr(0, open));
    }
    if (seg.empty())
      throw InputError(arg + ": \"" + std::string(key_text) +
                       "\" is not a key path; expected names separated by dots, e.g. a.b.c");
    part.key = std::string(seg);
    parts.push_back(std::move(part));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.back().index)
    throw InputError(arg +
                     ": cannot replace a whole element of an array of tables; set one of "
                     "its keys instead, e.g. " +
                     std::string(key_text) + ".KEY=VALUE");

  std::string key_path;
  for (const auto& p : parts) {
    key_path = join_path(key_path, p.key);
    if (p.index) key_path += fmt::format("[{}]", *p.index);
  }
  const std::string source = "--set " + key_path;
  const std::size_t seq = d.override_count++;

  // The value: TOML if it parses as one ("0.1", "true", "[1, 2]", "\"x\""), else the raw text.
  toml::table parsed;
  bool is_toml = false;
  try {
    parsed = toml::parse("x = " + std::string(value_text), source);
    is_toml = parsed.size() == 1 && parsed.get("x") != nullptr;
  } catch (const toml::parse_error&) {
  }
  if (!is_toml) {
    // The text must be a valid TOML string (UTF-8, no surrogates) for resolved_toml() to
    // parse again; the parser is the judge.
    try {
      parsed = toml::parse("x = " + quote_string(value_text), source);
    } catch (const toml::parse_error&) {
      throw InputError(arg + ": the value is not valid UTF-8 text");
    }
  }
  toml::node* value = parsed.get("x");

  // Walk to the parent table, creating tables on the way.
  toml::table* t = &d.root;
  std::string walked;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const PathPart& p = parts[i];
    walked = join_path(walked, p.key);
    toml::node* n = t->get(p.key);
    if (!n && !p.index) {
      auto [it, ins] = t->insert_or_assign(p.key, toml::table{});
      d.overrides[&it->second] = {seq, source};
      t = it->second.as_table();
      continue;
    }
    if (!n) throw InputError(arg + ": " + walked + ": no such array of tables in " + d.source_name);
    if (p.index) {
      auto* arr = n->as_array();
      if (!arr || !arr->is_array_of_tables())
        throw InputError(format_error(
            d.pos_of(n), walked,
            "is " + describe(*n) + ", not an array of tables, so " + arg + " cannot index it"));
      if (*p.index >= arr->size())
        throw InputError(arg + ": " + walked + fmt::format("[{}]", *p.index) +
                         fmt::format(": index out of range; [[{}]] has {} element{}", walked,
                                     arr->size(), arr->size() == 1 ? "" : "s"));
      walked += fmt::format("[{}]", *p.index);
      t = arr->get(*p.index)->as_table();
      continue;
    }
    if (!n->is_table())
      throw InputError(format_error(
          d.pos_of(n), walked,
          "is " + describe(*n) + ", not a table, so " + arg + " cannot set a key inside it"));
    t = n->as_table();
  }

  const std::string& last = parts.back().key;
  if (toml::node* old = t->get(last)) {
    const auto ot = old->type(), nt = value->type();
    const bool old_num = ot == toml::node_type::integer || ot == toml::node_type::floating_point;
    const bool new_num = nt == toml::node_type::integer || nt == toml::node_type::floating_point;
    if (old_num && new_num) {
      // An integer given for a float stays a float; a float given for an integer is kept and
      // rejected (or accepted) by the read, which knows whether the key is an integer.
      if (ot == toml::node_type::floating_point && nt == toml::node_type::integer)
        parsed.insert_or_assign("x", static_cast<double>(value->as_integer()->get()));
    } else if (ot == toml::node_type::string && (new_num || nt == toml::node_type::boolean)) {
      // Units are strings ("10ms", "100Mbps") but "0" or "1e9" parse as numbers: keep the text.
      parsed.insert_or_assign("x", std::string(value_text));
    } else if (ot != nt) {
      throw InputError(fmt::format("{}: {}: expected {} like the value at {}, got {}", arg,
                                   key_path, kind_of(*old), location(d.pos_of(old)),
                                   describe(*value)));
    }
    value = parsed.get("x");
    d.forget(old);
  }
  auto [it, ins] = t->insert_or_assign(last, std::move(*value));
  d.mark_override(&it->second, source, seq);
}

// ---------------------------------------------------------------------------------------------
// Unused keys

namespace {

struct Problem {
  std::tuple<int, std::size_t, std::size_t> order;
  std::string message;
};

void collect_unused(const Document::Impl& d, const toml::table& t, const std::string& path,
                    std::vector<Problem>& out) {
  static const Document::Impl::TableUse kNobody;
  const auto it = d.opened.find(&t);
  const auto& use = it != d.opened.end() ? it->second : kNobody;
  for (auto&& [k, n] : t) {
    if (d.is_synthetic(&n)) continue;
    const std::string kp = join_path(path, k.str());
    if (!use.used.count(k.str())) {
      std::string what;
      const bool asked = std::find(use.known.begin(), use.known.end(), k.str()) != use.known.end();
      if (asked) {
        // has() looked at it but nothing read it: a component bug or a conditional key.
        out.push_back({d.order_of(k, &n),
                       format_error(d.pos_of_key(k, &n), kp,
                                    "not used (checked for, but not read, by its component)")});
        continue;
      }
      if (n.is_table()) {
        what = "unknown table [" + kp + "]";
      } else if (auto* a = n.as_array(); a && !a->empty() && a->is_array_of_tables()) {
        what = "unknown array of tables [[" + kp + "]]";
      } else {
        what = "unknown key";
      }
      if (std::string dym = did_you_mean(k.str(), use.known); !dym.empty()) {
        what += dym;
      } else if (!use.known.empty()) {
        what += "; known keys here: ";
        for (std::size_t i = 0; i < use.known.size(); ++i) what += (i ? ", " : "") + use.known[i];
      } else {
        what += path.empty() ? "; nothing reads top-level keys" : "; [" + path + "] takes no keys";
      }
      out.push_back({d.order_of(k, &n), format_error(d.pos_of_key(k, &n), kp, what)});
      continue;
    }
    if (auto* sub = n.as_table(); sub && d.opened.count(sub)) {
      collect_unused(d, *sub, kp, out);
    } else if (auto* arr = n.as_array()) {
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto* el = arr->get(i)->as_table();
        if (el && d.opened.count(el)) collect_unused(d, *el, kp + fmt::format("[{}]", i), out);
      }
    }
    // A used key whose table nobody opened was consumed whole by its reader (mark_used).
  }
}

}  // namespace

void Document::check_unused() const {
  const Impl& d = *impl_;
  std::vector<Problem> problems;
  collect_unused(d, d.root, "", problems);
  if (problems.empty()) return;
  const auto first =
      std::min_element(problems.begin(), problems.end(),
                       [](const Problem& a, const Problem& b) { return a.order < b.order; });
  throw InputError(first->message);
}

}  // namespace ledgerfl::scenario
