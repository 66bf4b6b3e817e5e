// RAII layer over the HDF5 1.10 C API: checked calls, handles, extensible datasets, attributes.
#include "sim/metrics/detail/h5.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

namespace ledgerfl::metrics::h5 {

void silence_errors() {
  // Debian's libhdf5 is built thread-safe, and then the error-printing setting is per thread.
  thread_local bool silenced = false;
  if (!silenced) silenced = H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0;
}

std::string error_detail() {
  std::string detail;
  // Walking upward visits the innermost (most specific) record first.
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        if (n == 0 && e->desc != nullptr) *static_cast<std::string*>(out) = e->desc;
        return 0;
      },
      &detail);
  H5Eclear2(H5E_DEFAULT);
  return detail;
}

void fail(std::string_view file, std::string_view object, std::string_view what) {
  const std::string detail = error_detail();
  std::string msg = fmt::format("{}: ", file);
  if (!object.empty()) msg += fmt::format("{}: ", object);
  msg += what;
  if (!detail.empty()) msg += fmt::format(" (hdf5: {})", detail);
  throw H5Error(msg);
}

herr_t Handle::reset() noexcept {
  if (id_ < 0) return 0;
  const hid_t id = std::exchange(id_, H5I_INVALID_HID);
  switch (kind_) {
    case Kind::kFile:
      return H5Fclose(id);
    case Kind::kGroup:
      return H5Gclose(id);
    case Kind::kDataset:
      return H5Dclose(id);
    case Kind::kDataspace:
      return H5Sclose(id);
    case Kind::kDatatype:
      return H5Tclose(id);
    case Kind::kAttribute:
      return H5Aclose(id);
    case Kind::kPlist:
      return H5Pclose(id);
  }
  return -1;
}

Handle own(hid_t id, Handle::Kind kind, Where w, std::string_view what) {
  return Handle(check_id(id, w, what), kind);
}

using K = Handle::Kind;

// File format bounds: exactly the 1.8 format (superblock v2, object header v2).
//  - low = V18 (not EARLIEST) gives object header v2, which we need for dense attribute storage
//    (attributes of any size: the scenario TOML in /meta) and link creation order tracking.
//  - high = V18 (not V110/LATEST) keeps the superblock at v2. With the 1.10 format (superblock
//    v3) a writer marks the file "open for write" in the superblock status flags and clears the
//    mark only on a clean close; a file whose writer was SIGKILLed then fails to open
//    ("file is already open for write ... use h5clear"). Verified on HDF5 1.10.8: after SIGKILL,
//    bounds (V18, V18) and (V18, V110) reopen and hold every flushed row, (V110, V110) does not.
//    Pinning high = V18 also keeps files readable by any HDF5 >= 1.8 (h5py, MATLAB, ...).
Handle file_access_plist(Where w) {
  Handle fapl = own(H5Pcreate(H5P_FILE_ACCESS), K::kPlist, w, "cannot create file access plist");
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18), w,
        "cannot set file format bounds");
  // Every allocation of at least half a page (our chunks) starts on a page boundary, so a chunk
  // rewritten in place is one write inside one page (see kChunkBytes in h5.hpp).
  check(H5Pset_alignment(fapl.get(), kPageBytes / 2, kPageBytes), w, "cannot set page alignment");
  return fapl;
}

Handle create_file(const std::string& path) {
  silence_errors();
  const Where w{path, ""};
  Handle fapl = file_access_plist(w);
  return own(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), K::kFile, w,
             "cannot create HDF5 file");
}

Handle open_file_readonly(const std::string& path) {
  silence_errors();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw H5Error(fmt::format("{}: no such file", path));
  if (std::filesystem::is_directory(path, ec))
    throw H5Error(fmt::format("{}: is a directory, not an HDF5 file", path));
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw H5Error(fmt::format("{}: not a readable HDF5 file", path));
  }
  return own(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), K::kFile, Where{path, ""},
             "cannot open HDF5 file");
}

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    const std::size_t j = std::min(path.find('/', i), path.size());
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

}  // namespace

Handle ensure_group(hid_t file, const std::string& path, Where w, bool tracked) {
  silence_errors();
  Handle cur = own(H5Gopen2(file, "/", H5P_DEFAULT), K::kGroup, w, "cannot open root group");
  const auto parts = split_path(path);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& name = parts[i];
    const htri_t ex = H5Lexists(cur.get(), name.c_str(), H5P_DEFAULT);
    check(ex, w, "cannot look up group");
    if (ex > 0) {
      cur = own(H5Gopen2(cur.get(), name.c_str(), H5P_DEFAULT), K::kGroup, w,
                fmt::format("cannot open group '{}' (is it a dataset?)", name));
      continue;
    }
    Handle gcpl = own(H5Pcreate(H5P_GROUP_CREATE), K::kPlist, w, "cannot create group plist");
    if (tracked && i + 1 == parts.size()) {
      check(H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
            w, "cannot track link creation order");
      check(H5Pset_attr_phase_change(gcpl.get(), 0, 0), w, "cannot set dense attribute storage");
    }
    cur = own(H5Gcreate2(cur.get(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), K::kGroup,
              w, fmt::format("cannot create group '{}'", name));
  }
  return cur;
}

Handle open_group(hid_t loc, const std::string& path, Where w) {
  silence_errors();
  return own(H5Gopen2(loc, path.c_str(), H5P_DEFAULT), K::kGroup, w, "cannot open group");
}

bool exists(hid_t file, const std::string& path) {
  silence_errors();
  std::string prefix;
  for (const auto& part : split_path(path)) {
    prefix += '/';
    prefix += part;
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
  }
  return true;
}

std::vector<std::string> link_names(hid_t group, Where w) {
  Handle gcpl = own(H5Gget_create_plist(group), K::kPlist, w, "cannot get group plist");
  unsigned order = 0;
  check(H5Pget_link_creation_order(gcpl.get(), &order), w, "cannot query link order");
  const H5_index_t index =
      (order & H5P_CRT_ORDER_INDEXED) != 0 ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Literate(
            group, index, H5_ITER_INC, &idx,
            [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
              static_cast<std::vector<std::string>*>(out)->emplace_back(name);
              return 0;
            },
            &names),
        w, "cannot list group");
  return names;
}

std::vector<std::string> attribute_names(hid_t loc, Where w) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Aiterate2(
            loc, H5_INDEX_NAME, H5_ITER_INC, &idx,
            [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
              static_cast<std::vector<std::string>*>(out)->emplace_back(name);
              return 0;
            },
            &names),
        w, "cannot list attributes");
  return names;
}

Handle create_extensible(hid_t loc, const std::string& name, hid_t file_type, hsize_t chunk_rows,
                         bool compress, Where w) {
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  Handle space =
      own(H5Screate_simple(1, &zero, &unlimited), K::kDataspace, w, "cannot create dataspace");
  Handle dcpl = own(H5Pcreate(H5P_DATASET_CREATE), K::kPlist, w, "cannot create dataset plist");
  const hsize_t chunk = std::max<hsize_t>(chunk_rows, 1);
  check(H5Pset_chunk(dcpl.get(), 1, &chunk), w, "cannot set chunk size");
  if (compress && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    check(H5Pset_shuffle(dcpl.get()), w, "cannot set shuffle filter");
    check(H5Pset_deflate(dcpl.get(), 4), w, "cannot set deflate filter");
  }
  // Last in the pipeline: the checksum covers the stored (compressed) bytes, so a damaged chunk
  // is an error on read before anything tries to inflate it.
  check(H5Pset_fletcher32(dcpl.get()), w, "cannot set Fletcher-32 checksum filter");
  return own(
      H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      K::kDataset, w, "cannot create dataset");
}

Handle open_dataset(hid_t loc, const std::string& name, Where w) {
  silence_errors();
  return own(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), K::kDataset, w, "cannot open dataset");
}

hsize_t rows(hid_t dataset, Where w) {
  Handle space = own(H5Dget_space(dataset), K::kDataspace, w, "cannot get dataspace");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  check(rank, w, "cannot get rank");
  if (rank != 1) fail(w.file, w.object, fmt::format("expected a 1-D dataset, found rank {}", rank));
  hsize_t n = 0;
  check(H5Sget_simple_extent_dims(space.get(), &n, nullptr), w, "cannot get extent");
  return n;
}

void append(hid_t dataset, hid_t mem_type, hsize_t n, const void* data, Where w) {
  if (n == 0) return;
  const hsize_t start = rows(dataset, w);
  const hsize_t total = start + n;
  check(H5Dset_extent(dataset, &total), w, "cannot extend dataset");
  Handle fspace = own(H5Dget_space(dataset), K::kDataspace, w, "cannot get dataspace");
  check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &n, nullptr), w,
        "cannot select rows");
  Handle mspace =
      own(H5Screate_simple(1, &n, nullptr), K::kDataspace, w, "cannot create memory dataspace");
  check(H5Dwrite(dataset, mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, data), w,
        "cannot write rows");
}

void read_rows(hid_t dataset, hid_t mem_type, hsize_t n, void* out, Where w) {
  if (n == 0) return;
  Handle fspace = own(H5Dget_space(dataset), K::kDataspace, w, "cannot get dataspace");
  const hsize_t start = 0;
  check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &n, nullptr), w,
        "cannot select rows");
  Handle mspace =
      own(H5Screate_simple(1, &n, nullptr), K::kDataspace, w, "cannot create memory dataspace");
  check(H5Dread(dataset, mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, out), w,
        "cannot read rows");
}

namespace {

void delete_attr_if_present(hid_t loc, const std::string& name, Where w) {
  const htri_t ex = H5Aexists(loc, name.c_str());
  check(ex, w, fmt::format("cannot look up attribute '{}'", name));
  if (ex > 0) check(H5Adelete(loc, name.c_str()), w, fmt::format("cannot replace '{}'", name));
}

void write_scalar_attr(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                       const void* value, Where w) {
  delete_attr_if_present(loc, name, w);
  Handle space = own(H5Screate(H5S_SCALAR), K::kDataspace, w, "cannot create dataspace");
  Handle attr = own(H5Acreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    K::kAttribute, w, fmt::format("cannot create attribute '{}'", name));
  check(H5Awrite(attr.get(), mem_type, value), w, fmt::format("cannot write attribute '{}'", name));
}

Handle vlen_utf8(Where w) {
  Handle t = own(H5Tcopy(H5T_C_S1), K::kDatatype, w, "cannot copy string type");
  check(H5Tset_size(t.get(), H5T_VARIABLE), w, "cannot make variable-length string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), w, "cannot set UTF-8");
  return t;
}

// Opens attribute `name` if present, checking it holds exactly one element.
std::optional<Handle> open_scalar_attr(hid_t loc, const std::string& name, Where w) {
  const htri_t ex = H5Aexists(loc, name.c_str());
  check(ex, w, fmt::format("cannot look up attribute '{}'", name));
  if (ex == 0) return std::nullopt;
  Handle attr = own(H5Aopen(loc, name.c_str(), H5P_DEFAULT), K::kAttribute, w,
                    fmt::format("cannot open attribute '{}'", name));
  Handle space = own(H5Aget_space(attr.get()), K::kDataspace, w, "cannot get attribute space");
  if (H5Sget_simple_extent_npoints(space.get()) != 1)
    fail(w.file, w.object, fmt::format("attribute '{}' is not a single value", name));
  return attr;
}

}  // namespace

void write_attr(hid_t loc, const std::string& name, const std::string& value, Where w) {
  // Variable-length UTF-8: h5py reads it back as str; the bytes live in the global heap, so any
  // length works (the group also uses dense attribute storage, see ensure_group).
  Handle type = vlen_utf8(w);
  const char* p = value.c_str();
  write_scalar_attr(loc, name, type.get(), type.get(), &p, w);
}

void write_attr(hid_t loc, const std::string& name, std::int64_t value, Where w) {
  write_scalar_attr(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, w);
}

std::optional<std::string> read_attr_string(hid_t loc, const std::string& name, Where w) {
  auto attr = open_scalar_attr(loc, name, w);
  if (!attr) return std::nullopt;
  Handle ftype = own(H5Aget_type(attr->get()), K::kDatatype, w, "cannot get attribute type");
  if (H5Tget_class(ftype.get()) != H5T_STRING)
    fail(w.file, w.object, fmt::format("attribute '{}' is not a string", name));
  const htri_t is_var = H5Tis_variable_str(ftype.get());
  check(is_var, w, "cannot inspect string type");
  if (is_var > 0) {
    Handle mtype = vlen_utf8(w);
    char* p = nullptr;
    check(H5Aread(attr->get(), mtype.get(), &p), w,
          fmt::format("cannot read attribute '{}'", name));
    std::string out = p != nullptr ? std::string(p) : std::string();
    H5free_memory(p);
    return out;
  }
  const std::size_t size = H5Tget_size(ftype.get());
  Handle mtype = own(H5Tcopy(H5T_C_S1), K::kDatatype, w, "cannot copy string type");
  check(H5Tset_size(mtype.get(), size), w, "cannot size string type");
  check(H5Tset_strpad(mtype.get(), H5T_STR_NULLPAD), w, "cannot set string padding");
  std::string out(size, '\0');
  check(H5Aread(attr->get(), mtype.get(), out.data()), w,
        fmt::format("cannot read attribute '{}'", name));
  out.resize(out.find('\0') == std::string::npos ? size : out.find('\0'));
  if (H5Tget_strpad(ftype.get()) == H5T_STR_SPACEPAD) out.erase(out.find_last_not_of(' ') + 1);
  return out;
}

std::optional<std::int64_t> read_attr_int(hid_t loc, const std::string& name, Where w) {
  auto attr = open_scalar_attr(loc, name, w);
  if (!attr) return std::nullopt;
  Handle ftype = own(H5Aget_type(attr->get()), K::kDatatype, w, "cannot get attribute type");
  if (H5Tget_class(ftype.get()) != H5T_INTEGER)
    fail(w.file, w.object, fmt::format("attribute '{}' is not an integer", name));
  std::int64_t v = 0;
  check(H5Aread(attr->get(), H5T_NATIVE_INT64, &v), w,
        fmt::format("cannot read attribute '{}'", name));
  return v;
}

std::size_t cell_size(core::ColumnType t) {
  switch (t) {
    case core::ColumnType::kInt64:
      return sizeof(std::int64_t);
    case core::ColumnType::kFloat64:
      return sizeof(double);
    case core::ColumnType::kHash32:
      return sizeof(core::Hash32);
  }
  return 0;
}

Handle compound_type(std::span<const core::ColumnSpec> columns, bool native, Where w) {
  std::size_t total = 0;
  for (const auto& c : columns) total += cell_size(c.type);
  Handle type = own(H5Tcreate(H5T_COMPOUND, std::max<std::size_t>(total, 1)), K::kDatatype, w,
                    "cannot create compound type");
  const hsize_t hash_len = std::tuple_size_v<core::Hash32>;
  Handle hash = own(H5Tarray_create2(native ? H5T_NATIVE_UINT8 : H5T_STD_U8LE, 1, &hash_len),
                    K::kDatatype, w, "cannot create hash type");
  std::size_t offset = 0;
  for (const auto& c : columns) {
    hid_t member = hash.get();
    if (c.type == core::ColumnType::kInt64) member = native ? H5T_NATIVE_INT64 : H5T_STD_I64LE;
    if (c.type == core::ColumnType::kFloat64) member = native ? H5T_NATIVE_DOUBLE : H5T_IEEE_F64LE;
    check(H5Tinsert(type.get(), c.name.c_str(), offset, member), w,
          fmt::format("cannot add column '{}'", c.name));
    offset += cell_size(c.type);
  }
  return type;
}

}  // namespace ledgerfl::metrics::h5
