// The /integrity digest chain: SHA-256 helpers, reading the commit state, verify_integrity.
#include "sim/metrics/integrity.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/metrics/detail/h5.hpp"
#include "sim/metrics/detail/integrity.hpp"

namespace ledgerfl::metrics {

namespace integrity {

using h5::Handle;
using h5::Where;
using K = h5::Handle::Kind;

std::vector<core::ColumnSpec> rows_columns() {
  return {{"flush", core::ColumnType::kInt64},
          {"object", core::ColumnType::kInt64},
          {"rows", core::ColumnType::kInt64}};
}

std::vector<core::ColumnSpec> commits_columns() {
  return {{"flush", core::ColumnType::kInt64},
          {"rows_end", core::ColumnType::kInt64},
          {"meta", core::ColumnType::kHash32},
          {"digest", core::ColumnType::kHash32}};
}

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256: cannot initialise OpenSSL digest");
}
Sha256::~Sha256() {
  if (ctx_) EVP_MD_CTX_free(ctx_->md);
}
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&& o) noexcept {
  if (this != &o) {
    if (ctx_) EVP_MD_CTX_free(ctx_->md);
    ctx_ = std::move(o.ctx_);
  }
  return *this;
}
void Sha256::update(const void* data, std::size_t n) {
  if (n > 0) EVP_DigestUpdate(ctx_->md, data, n);
}
void Sha256::update_u64(std::uint64_t v) {
  std::uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
  update(b, sizeof b);
}
void Sha256::update_str(std::string_view s) {
  update_u64(s.size());
  update(s.data(), s.size());
}
Digest Sha256::finish() {
  Digest d{};
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx_->md, d.data(), &len);
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
  return d;
}

std::string to_hex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : d) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

Digest meta_digest(const std::map<std::string, MetaValue>& meta) {
  Sha256 h;
  h.update_u64(meta.size());
  for (const auto& [name, v] : meta) {
    h.update_str(name);
    if (const auto* s = std::get_if<std::string>(&v)) {
      h.update("s", 1);
      h.update_str(*s);
    } else {
      h.update("i", 1);
      h.update_u64(static_cast<std::uint64_t>(std::get<std::int64_t>(v)));
    }
  }
  return h.finish();
}

Digest chain_step(const Digest& prev, std::int64_t flush, const Digest& meta,
                  const std::vector<Entry>& entries, const std::vector<std::string>& names) {
  Sha256 h;
  h.update_str(kTag);
  h.update(prev.data(), prev.size());
  h.update_u64(static_cast<std::uint64_t>(flush));
  h.update(meta.data(), meta.size());
  h.update_u64(entries.size());
  for (const auto& e : entries) {
    h.update_u64(static_cast<std::uint64_t>(e.object));
    h.update_str(names.at(static_cast<std::size_t>(e.object)));
    h.update_u64(static_cast<std::uint64_t>(e.from));
    h.update_u64(static_cast<std::uint64_t>(e.to));
    h.update(e.data.data(), e.data.size());
  }
  return h.finish();
}

std::map<std::string, std::size_t> State::committed() const {
  std::map<std::string, std::size_t> out;
  const std::size_t end =
      commits.empty() ? 0 : std::min<std::size_t>(commits.back().rows_end, rows.size());
  for (std::size_t i = 0; i < end; ++i) {
    const auto& r = rows[i];
    if (r.object >= 0 && static_cast<std::size_t>(r.object) < objects.size())
      out[objects[static_cast<std::size_t>(r.object)]] = static_cast<std::size_t>(r.rows);
  }
  return out;
}

namespace {

std::vector<std::byte> read_all(hid_t file, const char* path, hid_t mem_type, hsize_t* n,
                                const std::string& fpath) {
  const Where w{fpath, path};
  Handle ds = h5::open_dataset(file, path, w);
  *n = h5::rows(ds.get(), w);
  std::vector<std::byte> buf(*n * H5Tget_size(mem_type));
  h5::read_rows(ds.get(), mem_type, *n, buf.data(), w);
  return buf;
}

std::int64_t get_i64(const std::byte* p) {
  std::int64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

State read_state(hid_t file, const std::string& path) {
  State st;
  if (!h5::exists(file, kGroup)) return st;
  st.present = true;
  const Where w{path, kGroup};
  Handle g = h5::open_group(file, kGroup, w);
  const auto names = h5::read_attr_string(g.get(), kObjectsAttr, w);
  if (!names) h5::fail(path, kGroup, "no 'objects' attribute");
  std::size_t i = 0;
  while (i < names->size()) {
    const std::size_t j = std::min(names->find('\n', i), names->size());
    st.objects.push_back(names->substr(i, j - i));
    i = j + 1;
  }
  for (const char* p : {kRows, kCommits})
    if (!h5::exists(file, p)) h5::fail(path, p, "missing");
  {
    Handle t = h5::compound_type(rows_columns(), /*native=*/true, Where{path, kRows});
    hsize_t n = 0;
    const auto buf = read_all(file, kRows, t.get(), &n, path);
    for (hsize_t r = 0; r < n; ++r) {
      const std::byte* p = buf.data() + r * 24;
      st.rows.push_back({get_i64(p), get_i64(p + 8), get_i64(p + 16)});
    }
  }
  {
    Handle t = h5::compound_type(commits_columns(), /*native=*/true, Where{path, kCommits});
    hsize_t n = 0;
    const auto buf = read_all(file, kCommits, t.get(), &n, path);
    for (hsize_t r = 0; r < n; ++r) {
      const std::byte* p = buf.data() + r * 80;
      CommitRow c{get_i64(p), get_i64(p + 8), {}, {}};
      std::memcpy(c.meta.data(), p + 16, 32);
      std::memcpy(c.digest.data(), p + 48, 32);
      st.commits.push_back(c);
    }
  }
  if (!st.commits.empty()) {
    const CommitRow& c = st.commits.back();
    const Digest zero{};
    if (c.flush == 0 && c.rows_end == 0 && c.meta == zero && c.digest == zero &&
        st.commits.size() > 0) {
      st.commits.pop_back();
      st.incomplete_tail = true;
    }
  }
  return st;
}

}  // namespace integrity

namespace {

using h5::Handle;
using h5::Where;
using K = h5::Handle::Kind;
using integrity::Digest;

std::map<std::string, integrity::MetaValue> read_meta(hid_t file, const std::string& path) {
  std::map<std::string, integrity::MetaValue> meta;
  if (!h5::exists(file, "/meta")) return meta;
  const Where w{path, "/meta"};
  Handle g = h5::open_group(file, "/meta", w);
  const std::vector<std::string> names = h5::attribute_names(g.get(), w);
  for (const auto& n : names) {
    Handle a = h5::own(H5Aopen(g.get(), n.c_str(), H5P_DEFAULT), K::kAttribute, w,
                       fmt::format("cannot open attribute '{}'", n));
    Handle t = h5::own(H5Aget_type(a.get()), K::kDatatype, w, "cannot get attribute type");
    if (H5Tget_class(t.get()) == H5T_STRING)
      meta[n] = *h5::read_attr_string(g.get(), n, w);
    else
      meta[n] = *h5::read_attr_int(g.get(), n, w);
  }
  return meta;
}

std::vector<std::string> all_datasets(hid_t file, const std::string& path) {
  std::vector<std::string> out;
  h5::check(H5Ovisit2(
                file, H5_INDEX_NAME, H5_ITER_INC,
                [](hid_t, const char* name, const H5O_info_t* info, void* op) -> herr_t {
                  if (info->type == H5O_TYPE_DATASET)
                    static_cast<std::vector<std::string>*>(op)->push_back(std::string("/") + name);
                  return 0;
                },
                &out, H5O_INFO_BASIC),
            Where{path, "/"}, "cannot list the file's objects");
  return out;
}

struct Mismatch {
  std::string what;
};

}  // namespace

IntegrityReport verify_integrity(const std::string& path) {
  IntegrityReport rep;
  rep.digest_hex = integrity::to_hex(Digest{});
  try {
    Handle file = h5::open_file_readonly(path);
    const hid_t f = file.get();
    const integrity::State st = integrity::read_state(f, path);
    if (!st.present) {
      rep.status = IntegrityReport::Status::kAbsent;
      rep.message = "no /integrity digest chain (not written by this ledgerfl)";
      return rep;
    }
    rep.incomplete_tail = st.incomplete_tail;
    const std::size_t n_obj = st.objects.size();
    std::set<std::string> seen;
    for (const auto& o : st.objects)
      if (o.empty() || o.front() != '/' || !seen.insert(o).second)
        throw Mismatch{fmt::format("/integrity lists a bad or repeated object '{}'", o)};

    // Structure: flush k's entries are rows [rows_end(k-1), rows_end(k)), ascending objects,
    // growing row counts.
    std::vector<std::int64_t> cur(n_obj, 0);
    std::size_t pos = 0;
    for (std::size_t k = 0; k < st.commits.size(); ++k) {
      const auto& c = st.commits[k];
      if (c.flush != static_cast<std::int64_t>(k))
        throw Mismatch{fmt::format("commit row {} records flush {}", k, c.flush)};
      if (c.rows_end < static_cast<std::int64_t>(pos) ||
          c.rows_end > static_cast<std::int64_t>(st.rows.size()))
        throw Mismatch{fmt::format("flush {}: row-count entries end at {} (have {}..{})", k,
                                   c.rows_end, pos, st.rows.size())};
      std::int64_t last_obj = -1;
      for (; pos < static_cast<std::size_t>(c.rows_end); ++pos) {
        const auto& r = st.rows[pos];
        if (r.flush != c.flush || r.object <= last_obj ||
            r.object >= static_cast<std::int64_t>(n_obj) ||
            r.rows <= cur[static_cast<std::size_t>(r.object)])
          throw Mismatch{fmt::format("flush {}: row-count entry {} is inconsistent", k, pos)};
        last_obj = r.object;
        cur[static_cast<std::size_t>(r.object)] = r.rows;
      }
    }

    // Committed bytes of every object (reading them also checks their Fletcher-32 checksums).
    std::vector<std::vector<std::byte>> data(n_obj);
    std::vector<std::size_t> row_size(n_obj, 0);
    for (std::size_t o = 0; o < n_obj; ++o) {
      if (cur[o] == 0) continue;
      const std::string& name = st.objects[o];
      if (!h5::exists(f, name))
        throw Mismatch{fmt::format("{}: committed dataset is missing", name)};
      const Where w{path, name};
      Handle ds = h5::open_dataset(f, name, w);
      const hsize_t n = h5::rows(ds.get(), w);
      if (n < static_cast<hsize_t>(cur[o]))
        throw Mismatch{fmt::format("{}: {} rows, {} committed (truncated)", name, n, cur[o])};
      Handle t = h5::own(H5Dget_type(ds.get()), K::kDatatype, w, "cannot get type");
      row_size[o] = H5Tget_size(t.get());
      data[o].resize(static_cast<std::size_t>(cur[o]) * row_size[o]);
      h5::read_rows(ds.get(), t.get(), static_cast<hsize_t>(cur[o]), data[o].data(), w);
      if (name == integrity::kTiming) data[o].clear();  // wall clock: counted, not hashed
    }

    // The chain.
    Digest d{};
    std::fill(cur.begin(), cur.end(), 0);
    pos = 0;
    integrity::Sha256 h;
    for (std::size_t k = 0; k < st.commits.size(); ++k) {
      const auto& c = st.commits[k];
      std::vector<integrity::Entry> entries;
      std::string objs;
      for (; pos < static_cast<std::size_t>(c.rows_end); ++pos) {
        const auto& r = st.rows[pos];
        const auto o = static_cast<std::size_t>(r.object);
        integrity::Entry e{r.object, cur[o], r.rows, {}};
        if (!data[o].empty())
          h.update(data[o].data() + static_cast<std::size_t>(e.from) * row_size[o],
                   static_cast<std::size_t>(e.to - e.from) * row_size[o]);
        e.data = h.finish();
        cur[o] = r.rows;
        entries.push_back(e);
        if (objs.size() < 120) objs += (objs.empty() ? "" : ", ") + st.objects[o];
      }
      d = integrity::chain_step(d, c.flush, c.meta, entries, st.objects);
      if (d != c.digest)
        throw Mismatch{fmt::format(
            "flush {} of {}: digest differs (recorded {}, computed {}): its rows of {} or /meta "
            "were changed",
            k, st.commits.size(), integrity::to_hex(c.digest).substr(0, 16),
            integrity::to_hex(d).substr(0, 16), objs.empty() ? "nothing" : objs)};
    }
    rep.flushes = st.commits.size();
    rep.digest_hex = integrity::to_hex(d);
    for (std::size_t o = 0; o < n_obj; ++o)
      if (st.objects[o] == integrity::kTiming) rep.rounds = static_cast<std::size_t>(cur[o]);

    if (!st.commits.empty() && integrity::meta_digest(read_meta(f, path)) != st.commits.back().meta)
      throw Mismatch{"/meta differs from what the last flush recorded"};
    for (const auto& ds : all_datasets(f, path))
      if (!ds.starts_with("/integrity/") && !seen.contains(ds))
        throw Mismatch{fmt::format("{}: dataset not covered by /integrity (added later?)", ds)};
    rep.status = IntegrityReport::Status::kOk;
  } catch (const Mismatch& m) {
    rep.status = IntegrityReport::Status::kMismatch;
    rep.message = m.what;
  } catch (const std::exception& e) {
    rep.status = IntegrityReport::Status::kUnreadable;
    rep.message = e.what();
  }
  return rep;
}

}  // namespace ledgerfl::metrics
