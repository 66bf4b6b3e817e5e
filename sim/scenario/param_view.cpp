// ParamView: typed, bounded, unit-aware reads of one scenario table, with positioned errors.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/core/time.hpp"
#include "sim/core/units.hpp"
#include "sim/scenario/detail/document_impl.hpp"
#include "sim/scenario/suggest.hpp"

namespace ledgerfl::scenario {

namespace {

using Impl = Document::Impl;

// Records that the component asked for `key` and returns the value given by the file or an
// override (nullptr if absent; a default filled in by an earlier read counts as absent).
toml::node* begin_read(Impl& d, toml::table& t, std::string_view key) {
  auto& use = d.opened[&t];
  use.know(key);
  use.used.emplace(key);
  toml::node* n = t.get(key);
  return (n && d.is_synthetic(n)) ? nullptr : n;
}

// Writes a default that a read used into the document, so resolved_toml() shows it.
template <class V>
toml::node* put_default(Impl& d, toml::table& t, std::string_view key, V&& v) {
  if (toml::node* old = t.get(key)) {
    d.forget(old);
    t.erase(key);
  }
  auto [it, inserted] = t.insert_or_assign(std::string(key), std::forward<V>(v));
  d.synthetic.insert(&it->second);
  return &it->second;
}

[[noreturn]] void fail_at(const Impl& d, const toml::node* n, std::string_view key_path,
                          const std::string& msg) {
  throw InputError(format_error(d.pos_of(n), key_path, msg));
}

[[noreturn]] void missing(const Impl& d, const toml::table& t, std::string_view key_path,
                          const std::string& expected) {
  fail_at(d, &t, key_path, "missing required key (expected " + expected + ")");
}

bool in_bounds(double v, const Bounds& b) {
  if (b.min && (v < *b.min || (b.min_exclusive && v == *b.min))) return false;
  if (b.max && (v > *b.max || (b.max_exclusive && v == *b.max))) return false;
  return true;
}

// "> 0", ">= 0", "in [0, 1]", "in (0, 1]", "<= 5"; `unit` is appended to each bound ("s").
std::string bounds_text(const Bounds& b, std::string_view unit = "") {
  const auto num = [&](double x) { return show_number(x) + std::string(unit); };
  if (b.min && b.max)
    return fmt::format("in {}{}, {}{}", b.min_exclusive ? "(" : "[", num(*b.min), num(*b.max),
                       b.max_exclusive ? ")" : "]");
  if (b.min) return (b.min_exclusive ? "> " : ">= ") + num(*b.min);
  if (b.max) return (b.max_exclusive ? "< " : "<= ") + num(*b.max);
  return "finite";
}

void check_bounds(const Impl& d, const toml::node& n, std::string_view kp, double v,
                  const Bounds& b, std::string_view unit = "") {
  if (!in_bounds(v, b))
    fail_at(d, &n, kp, show_value(n) + " is out of range: must be " + bounds_text(b, unit));
}

double number_of(const Impl& d, const toml::node& n, std::string_view kp, const Bounds& b) {
  double v = 0;
  if (auto* i = n.as_integer())
    v = static_cast<double>(i->get());
  else if (auto* f = n.as_floating_point())
    v = f->get();
  else
    fail_at(d, &n, kp, "expected a number, got " + describe(n));
  if (!std::isfinite(v)) fail_at(d, &n, kp, "expected a finite number, got " + describe(n));
  check_bounds(d, n, kp, v, b);
  return v;
}

std::int64_t integer_of(const Impl& d, const toml::node& n, std::string_view kp, const Bounds& b) {
  std::int64_t v = 0;
  if (auto* i = n.as_integer()) {
    v = i->get();
  } else if (auto* f = n.as_floating_point()) {
    // A float with an integral value is accepted ("samples = 1e6"); 2^53 keeps it exact.
    const double x = f->get();
    if (!(std::isfinite(x) && x == std::floor(x) && std::fabs(x) <= 9007199254740992.0))
      fail_at(d, &n, kp, "expected an integer, got " + describe(n));
    v = static_cast<std::int64_t>(x);
  } else {
    fail_at(d, &n, kp, "expected an integer, got " + describe(n));
  }
  check_bounds(d, n, kp, static_cast<double>(v), b);
  return v;
}

std::string string_of(const Impl& d, const toml::node& n, std::string_view kp) {
  if (auto* s = n.as_string()) return s->get();
  fail_at(d, &n, kp, "expected a string, got " + describe(n));
}

const toml::array& array_of(const Impl& d, const toml::node& n, std::string_view kp,
                            std::string_view what) {
  if (auto* a = n.as_array()) return *a;
  fail_at(d, &n, kp, "expected " + std::string(what) + ", got " + describe(n));
}

std::string element_path(std::string_view kp, std::size_t i) {
  return fmt::format("{}[{}]", kp, i);
}

// "1500ms" rather than "1.5s": the largest unit that divides the span exactly, so the text
// parses back to the same nanosecond count.
std::string duration_text(core::SimTime t) {
  struct Unit {
    const char* name;
    std::int64_t ns;
  };
  static constexpr Unit kUnits[] = {{"d", 86'400'000'000'000}, {"h", 3'600'000'000'000},
                                    {"min", 60'000'000'000},   {"s", 1'000'000'000},
                                    {"ms", 1'000'000},         {"us", 1'000}};
  const std::int64_t ns = t.count_ns();
  if (ns == 0) return "0s";
  for (const auto& u : kUnits)
    if (ns % u.ns == 0) return fmt::format("{}{}", ns / u.ns, u.name);
  return fmt::format("{}ns", ns);
}

// Unit hints (units as accepted by sim/core time.cpp and units.cpp).
const std::string kDurationUnits[] = {"ns", "us", "ms", "s", "sec", "m", "min", "h", "d"};
constexpr UnitAlias kDurationAliases[] = {
    {"nanosecond", "ns"}, {"nanoseconds", "ns"}, {"nsec", "ns"},        {"µs", "us"},
    {"μs", "us"},         {"usec", "us"},        {"microsecond", "us"}, {"microseconds", "us"},
    {"msec", "ms"},       {"msecs", "ms"},       {"millisecond", "ms"}, {"milliseconds", "ms"},
    {"secs", "s"},        {"second", "s"},       {"seconds", "s"},      {"mins", "min"},
    {"minute", "min"},    {"minutes", "min"},    {"hr", "h"},           {"hrs", "h"},
    {"hour", "h"},        {"hours", "h"},        {"day", "d"},          {"days", "d"}};
constexpr const char* kDurationHint =
    "expected a number with a unit (ns, us, ms, s, m or min, h, d), e.g. \"250ms\" or \"1.5h\"";

const std::string kSizeUnits[] = {"B", "kB", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"};
constexpr UnitAlias kSizeAliases[] = {
    {"byte", "B"}, {"bytes", "B"}, {"kilobytes", "kB"}, {"megabytes", "MB"}, {"gigabytes", "GB"}};
constexpr const char* kSizeHint =
    "expected a whole number of bytes, or a number with a unit (B, kB, MB, GB, TB, KiB, MiB, "
    "GiB, TiB), e.g. \"32KiB\" or \"1.5MB\"";

const std::string kRateUnits[] = {"bps",  "kbps", "Kbps", "Mbps", "Gbps",  "Tbps",  "B/s",
                                  "kB/s", "KB/s", "MB/s", "GB/s", "KiB/s", "MiB/s", "GiB/s"};
constexpr UnitAlias kRateAliases[] = {{"bit/s", "bps"},   {"kbit/s", "kbps"}, {"mbit/s", "Mbps"},
                                      {"gbit/s", "Gbps"}, {"kb/s", "kbps"},   {"mb/s", "MB/s"},
                                      {"gb/s", "GB/s"},   {"bits/s", "bps"},  {"Bps", "B/s"}};
constexpr const char* kRateHint =
    "expected bits per second as a number, or a number with a unit (bps, kbps, Mbps, Gbps, "
    "B/s, kB/s, MB/s, GB/s, MiB/s), e.g. \"100Mbps\"";

// " (did you mean \"10ms\"?)" if fixing the unit gives text that `parses`.
template <class Parse>
std::string unit_suggestion(const std::string& text, std::span<const std::string> units,
                            std::span<const UnitAlias> aliases, Parse parses) {
  if (auto fix = suggest_unit_fix(text, units, aliases); fix && parses(*fix))
    return " (did you mean \"" + *fix + "\"?)";
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string ParamView::key_path(std::string_view key) const {
  return join_path(path_, key);
}

bool ParamView::has(std::string_view key) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  d.opened[&t].know(key);
  const toml::node* n = t.get(key);
  return n && !d.is_synthetic(n);
}

bool ParamView::is_table(std::string_view key) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  d.opened[&t].know(key);
  const toml::node* n = t.get(key);
  return n && !d.is_synthetic(n) && n->is_table();
}

std::vector<std::string> ParamView::keys() const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  std::vector<std::pair<std::tuple<int, std::size_t, std::size_t>, std::string>> ks;
  for (auto&& [k, n] : t)
    if (!d.is_synthetic(&n)) ks.emplace_back(d.order_of(k, &n), std::string(k.str()));
  std::stable_sort(ks.begin(), ks.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [o, k] : ks) out.push_back(std::move(k));
  return out;
}

double ParamView::number(std::string_view key, std::optional<double> def, Bounds b) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  if (const toml::node* n = begin_read(d, t, key)) return number_of(d, *n, key_path(key), b);
  if (!def) missing(d, t, key_path(key), "a number");
  put_default(d, t, key, *def);
  return *def;
}

std::int64_t ParamView::integer(std::string_view key, std::optional<std::int64_t> def,
                                Bounds b) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  if (const toml::node* n = begin_read(d, t, key)) return integer_of(d, *n, key_path(key), b);
  if (!def) missing(d, t, key_path(key), "an integer");
  put_default(d, t, key, *def);
  return *def;
}

bool ParamView::boolean(std::string_view key, std::optional<bool> def) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  if (const toml::node* n = begin_read(d, t, key)) {
    if (auto* v = n->as_boolean()) return v->get();
    fail_at(d, n, key_path(key), "expected true or false, got " + describe(*n));
  }
  if (!def) missing(d, t, key_path(key), "true or false");
  put_default(d, t, key, *def);
  return *def;
}

std::string ParamView::string(std::string_view key, std::optional<std::string> def) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  if (const toml::node* n = begin_read(d, t, key)) return string_of(d, *n, key_path(key));
  if (!def) missing(d, t, key_path(key), "a string");
  put_default(d, t, key, *def);
  return *def;
}

std::string ParamView::choice(std::string_view key, std::span<const std::string_view> options,
                              std::optional<std::string> def) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  std::string list;
  std::vector<std::string> names;
  for (auto o : options) {
    list += (list.empty() ? "" : ", ") + std::string(o);
    names.emplace_back(o);
  }
  if (const toml::node* n = begin_read(d, t, key)) {
    if (!n->is_string())
      fail_at(d, n, key_path(key), "expected one of: " + list + ", got " + describe(*n));
    const std::string v = n->as_string()->get();
    if (std::find(options.begin(), options.end(), v) != options.end()) return v;
    fail_at(
        d, n, key_path(key),
        "unknown value " + quote_string(v) + "; expected one of: " + list + did_you_mean(v, names));
  }
  if (!def) missing(d, t, key_path(key), "one of: " + list);
  put_default(d, t, key, *def);
  return *def;
}

core::SimTime ParamView::duration(std::string_view key, std::optional<core::SimTime> def,
                                  Bounds seconds_bounds) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  const std::string kp = key_path(key);
  if (const toml::node* n = begin_read(d, t, key)) {
    std::optional<core::SimTime> v;
    std::string hint;
    if (auto* s = n->as_string()) {
      v = core::parse_duration(s->get());
      if (!v)
        hint = unit_suggestion(
            s->get(), kDurationUnits, kDurationAliases,
            [](const std::string& x) { return core::parse_duration(x).has_value(); });
    } else if (auto* i = n->as_integer(); i && i->get() == 0) {
      v = core::SimTime();  // a bare 0 needs no unit
    }
    if (!v && n->is_string()) {
      // A valid unit with a bad number: say what is wrong with the number.
      const auto q = split_quantity(n->as_string()->get());
      if (q && core::parse_duration("1" + q->unit)) {
        if (q->value < 0)
          fail_at(d, n, kp, show_value(*n) + " is out of range: durations cannot be negative");
        fail_at(d, n, kp, show_value(*n) + " is out of range: durations must be below 292 years");
      }
    }
    if (!v) fail_at(d, n, kp, show_value(*n) + " is not a duration: " + kDurationHint + hint);
    check_bounds(d, *n, kp, v->seconds(), seconds_bounds, "s");
    return *v;
  }
  if (!def) missing(d, t, kp, "a duration, e.g. \"250ms\"");
  put_default(d, t, key, duration_text(*def));
  return *def;
}

std::int64_t ParamView::size(std::string_view key, std::optional<std::int64_t> def) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  const std::string kp = key_path(key);
  if (const toml::node* n = begin_read(d, t, key)) {
    if (n->is_integer() || n->is_floating_point()) {
      if (auto* f = n->as_floating_point();
          f && !(std::isfinite(f->get()) && f->get() == std::floor(f->get())))
        fail_at(d, n, kp, show_value(*n) + " is not a size: " + kSizeHint);
      return integer_of(d, *n, kp, Bounds::non_negative());
    }
    if (auto* s = n->as_string()) {
      if (auto v = core::parse_size(s->get())) return *v;
      const auto q = split_quantity(s->get());
      if (q && core::parse_size("1" + q->unit)) {
        if (q->value < 0) fail_at(d, n, kp, show_value(*n) + " is out of range: must be >= 0");
        if (q->value * static_cast<double>(*core::parse_size("1" + q->unit)) < 9e18)
          fail_at(d, n, kp, show_value(*n) + " is not a whole number of bytes");
        fail_at(d, n, kp, show_value(*n) + " is out of range: must be below 8 EiB");
      }
      fail_at(d, n, kp,
              show_value(*n) + " is not a size: " + kSizeHint +
                  unit_suggestion(s->get(), kSizeUnits, kSizeAliases, [](const std::string& x) {
                    return core::parse_size(x).has_value();
                  }));
    }
    fail_at(d, n, kp, show_value(*n) + " is not a size: " + kSizeHint);
  }
  if (!def) missing(d, t, kp, "a size, e.g. \"32KiB\"");
  put_default(d, t, key, *def);
  return *def;
}

double ParamView::rate(std::string_view key, std::optional<double> def) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  const std::string kp = key_path(key);
  if (const toml::node* n = begin_read(d, t, key)) {
    if (n->is_integer() || n->is_floating_point()) return number_of(d, *n, kp, Bounds::positive());
    if (auto* s = n->as_string()) {
      if (auto v = core::parse_rate(s->get())) return *v;
      const auto q = split_quantity(s->get());
      if (q && core::parse_rate("1" + q->unit) && q->value <= 0)
        fail_at(d, n, kp, show_value(*n) + " is out of range: must be > 0");
      fail_at(d, n, kp,
              show_value(*n) + " is not a rate: " + kRateHint +
                  unit_suggestion(s->get(), kRateUnits, kRateAliases, [](const std::string& x) {
                    return core::parse_rate(x).has_value();
                  }));
    }
    fail_at(d, n, kp, show_value(*n) + " is not a rate: " + kRateHint);
  }
  if (!def) missing(d, t, kp, "a rate, e.g. \"100Mbps\"");
  put_default(d, t, key, *def);
  return *def;
}

std::vector<double> ParamView::number_list(std::string_view key,
                                           std::optional<std::vector<double>> def,
                                           Bounds each) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  const std::string kp = key_path(key);
  if (const toml::node* n = begin_read(d, t, key)) {
    const toml::array& a = array_of(d, *n, kp, "a list of numbers");
    std::vector<double> out;
    for (std::size_t i = 0; i < a.size(); ++i)
      out.push_back(number_of(d, *a.get(i), element_path(kp, i), each));
    return out;
  }
  if (!def) missing(d, t, kp, "a list of numbers");
  toml::array a;
  for (double v : *def) a.push_back(v);
  put_default(d, t, key, std::move(a));
  return *def;
}

std::vector<std::int64_t> ParamView::integer_list(std::string_view key,
                                                  std::optional<std::vector<std::int64_t>> def,
                                                  Bounds each) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  const std::string kp = key_path(key);
  if (const toml::node* n = begin_read(d, t, key)) {
    const toml::array& a = array_of(d, *n, kp, "a list of integers");
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < a.size(); ++i)
      out.push_back(integer_of(d, *a.get(i), element_path(kp, i), each));
    return out;
  }
  if (!def) missing(d, t, kp, "a list of integers");
  toml::array a;
  for (std::int64_t v : *def) a.push_back(v);
  put_default(d, t, key, std::move(a));
  return *def;
}

std::vector<std::string> ParamView::string_list(std::string_view key,
                                                std::optional<std::vector<std::string>> def) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  const std::string kp = key_path(key);
  if (const toml::node* n = begin_read(d, t, key)) {
    const toml::array& a = array_of(d, *n, kp, "a list of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < a.size(); ++i)
      out.push_back(string_of(d, *a.get(i), element_path(kp, i)));
    return out;
  }
  if (!def) missing(d, t, kp, "a list of strings");
  toml::array a;
  for (const auto& v : *def) a.push_back(v);
  put_default(d, t, key, std::move(a));
  return *def;
}

ParamView ParamView::table(std::string_view key) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  const std::string kp = key_path(key);
  toml::node* n = begin_read(d, t, key);
  if (n && !n->is_table()) fail_at(d, n, kp, "expected a table, got " + describe(*n));
  if (!n) {
    // Reuse a table an earlier table() created; otherwise create it (its reads fill defaults).
    toml::node* prev = t.get(key);
    n = (prev && prev->is_table()) ? prev : put_default(d, t, key, toml::table{});
  }
  d.open(kp, n->as_table());
  return ParamView(doc_, kp);
}

std::optional<ParamView> ParamView::optional_table(std::string_view key) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  const std::string kp = key_path(key);
  toml::node* n = begin_read(d, t, key);
  if (n && !n->is_table()) fail_at(d, n, kp, "expected a table, got " + describe(*n));
  if (!n) {
    toml::node* prev = t.get(key);
    if (!(prev && prev->is_table())) return std::nullopt;
    n = prev;
  }
  d.open(kp, n->as_table());
  return ParamView(doc_, kp);
}

std::vector<ParamView> ParamView::table_array(std::string_view key) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  const std::string kp = key_path(key);
  toml::node* n = begin_read(d, t, key);
  if (!n) return {};
  if (n->is_table())
    fail_at(d, n, kp,
            "expected an array of tables ([[" + kp + "]]), got a single table ([" + kp + "])");
  toml::array* a = n->as_array();
  if (!a) fail_at(d, n, kp, "expected an array of tables ([[" + kp + "]]), got " + describe(*n));
  std::vector<ParamView> out;
  for (std::size_t i = 0; i < a->size(); ++i) {
    toml::node* el = a->get(i);
    const std::string ep = element_path(kp, i);
    if (!el->is_table()) fail_at(d, el, ep, "expected a table, got " + describe(*el));
    d.open(ep, el->as_table());
    out.push_back(ParamView(doc_, ep));
  }
  return out;
}

void ParamView::mark_used(std::string_view key) const {
  Impl& d = *doc_->impl_;
  begin_read(d, d.table_of(path_), key);
}

SourcePos ParamView::pos(std::string_view key) const {
  Impl& d = *doc_->impl_;
  toml::table& t = d.table_of(path_);
  if (!key.empty())
    if (const toml::node* n = t.get(key); n && !d.is_synthetic(n)) return d.pos_of(n);
  return d.pos_of(&t);
}

bool ParamView::dry() const {
  return doc_->impl_->dry;
}

void ParamView::fail(std::string_view key, const std::string& message) const {
  throw InputError(format_error(pos(key), key.empty() ? path_ : key_path(key), message));
}

}  // namespace ledgerfl::scenario
