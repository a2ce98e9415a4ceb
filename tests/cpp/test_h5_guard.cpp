// Tests for src/formats/h5_guard.* and for read_keras_h5 on corrupted files:
// copies of the real Keras files in ../shared/testdata/keras-h5 with a few
// bytes of their global heap collection changed (byte offsets located by
// hand-written parsing here, following the HDF5 file format spec), and small
// files whose datasets claim far more data than they store.
#include <hdf5.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "h5_guard.h"
#include "harness.h"
#include "keras_h5.h"

namespace fs = std::filesystem;

namespace {

const std::string kData = kn_test::shared_testdata("keras-h5");
// Keras 2.12 full model: model_config, training_config and the name lists are
// variable-length strings, i.e. global heap objects.
const std::string kVlen = kData + "hotaruk_mnist_mlp_full_keras212.h5";

bool have(const std::string& f, const char* test) {
  if (fs::exists(f)) return true;
  std::printf("  SKIP %s: %s not present\n", test, f.c_str());
  return false;
}

std::string scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("kn_test_h5_guard_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::vector<uint8_t> slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void spit(const std::string& p, const std::vector<uint8_t>& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Offset of the first "GCOL" signature (the file's global heap collection).
size_t find_gcol(const std::vector<uint8_t>& b) {
  for (size_t i = 0; i + 4 <= b.size(); ++i)
    if (std::memcmp(&b[i], "GCOL", 4) == 0) return i;
  return std::string::npos;
}

// Layout of a version 1 collection with 8-byte lengths (what h5py files use):
// header 16 bytes (signature, version, 3 reserved, size); objects of 16-byte
// headers (index u16, refcount u16, reserved u32, size u64) + data padded to 8.
struct Obj { size_t at; unsigned idx; uint64_t size; };
std::vector<Obj> objects(const std::vector<uint8_t>& b, size_t g) {
  std::vector<Obj> out;
  const uint64_t end = g + le64(&b[g + 8]);
  size_t p = g + 16;
  while (p + 16 <= end) {
    Obj o{p, static_cast<unsigned>(b[p] | (b[p + 1] << 8)), le64(&b[p + 8])};
    out.push_back(o);
    if (o.idx == 0) break;
    p += 16 + ((o.size + 7) / 8) * 8;
  }
  return out;
}

}  // namespace

TEST(real_files_pass_the_guard) {
  if (!have(kVlen, "real_files_pass_the_guard")) return;
  int files = 0;
  for (auto& e : fs::directory_iterator(kData)) {
    const std::string p = e.path().string();
    if (p.size() < 3 || (p.substr(p.size() - 3) != ".h5" && p.substr(p.size() - 5) != ".hdf5")) continue;
    kn::check_h5_global_heaps(p);  // must not throw
    std::vector<uint8_t> b = slurp(p);
    kn::check_h5_global_heaps_bytes(b.data(), b.size());
    ++files;
  }
  CHECK(files == 5);
  // The vlen file really has a collection with objects and a final free-space object.
  std::vector<uint8_t> b = slurp(kVlen);
  const size_t g = find_gcol(b);
  CHECK(g != std::string::npos);
  std::vector<Obj> objs = objects(b, g);
  CHECK(objs.size() >= 3);
  CHECK(objs.back().idx == 0);
  CHECK(objs.back().at + objs.back().size == g + le64(&b[g + 8]));  // free space fills the rest
  // Not HDF5 at all: nothing to check (read_keras_h5 then says "not an HDF5 file").
  const char text[] = "GCOL\x01 but no superblock";
  kn::check_h5_global_heaps_bytes(reinterpret_cast<const uint8_t*>(text), sizeof text);
}

// libhdf5 1.10.8 loops forever on a zeroed free-space object (size 0: the
// parser never advances) and copies past a buffer when an object's size runs
// beyond its collection. Both corruptions are caught before libhdf5 runs.
TEST(corrupt_global_heap_is_an_error_not_a_crash_or_hang) {
  if (!have(kVlen, "corrupt_global_heap_is_an_error_not_a_crash_or_hang")) return;
  const std::string dir = scratch("corrupt");
  const std::vector<uint8_t> orig = slurp(kVlen);
  const size_t g = find_gcol(orig);
  const std::vector<Obj> objs = objects(orig, g);
  const uint64_t coll = le64(&orig[g + 8]);
  struct Case { const char* what; std::vector<uint8_t> bytes; const char* msg; };
  std::vector<Case> cases;
  {  // 1. zeroed free-space object header (the endless loop)
    std::vector<uint8_t> b = orig;
    std::memset(&b[objs.back().at], 0, 16);
    cases.push_back({"zeroed free space", b, "free-space object 0"});
  }
  {  // 2. two bytes of object 1's size changed: 0x?? -> 0xffff.. runs past the collection
    std::vector<uint8_t> b = orig;
    b[objs[0].at + 8 + 2] = 0xff;
    b[objs[0].at + 8 + 3] = 0x7f;
    cases.push_back({"object size past collection", b, "more than the"});
  }
  {  // 3. collection size beyond the end of the file
    std::vector<uint8_t> b = orig;
    put_le64(&b[g + 8], b.size());
    cases.push_back({"collection past EOF", b, "runs past the end of the file"});
  }
  {  // 4. an object header zeroed in the middle: it becomes a "free space" that does not fill the rest
    std::vector<uint8_t> b = orig;
    std::memset(&b[objs[1].at], 0, 16);
    cases.push_back({"zeroed object", b, "expected the"});
  }
  {  // 5. the second object given the first one's index
    std::vector<uint8_t> b = orig;
    b[objs[1].at] = b[objs[0].at];
    b[objs[1].at + 1] = b[objs[0].at + 1];
    cases.push_back({"duplicate index", b, "appears twice"});
  }
  {  // 6. a collection size smaller than its header
    std::vector<uint8_t> b = orig;
    put_le64(&b[g + 8], 8);
    cases.push_back({"tiny collection", b, "smaller than its header"});
  }
  {  // 7. the file cut inside the collection
    std::vector<uint8_t> b(orig.begin(), orig.begin() + static_cast<long>(g + coll / 2));
    cases.push_back({"truncated", b, "runs past the end of the file"});
  }
  for (const Case& c : cases) {
    const std::string p = dir + "/corrupt.h5";
    spit(p, c.bytes);
    bool threw = false;
    try {
      kn::check_h5_global_heaps_bytes(c.bytes.data(), c.bytes.size());
    } catch (const std::exception& e) {
      threw = std::string(e.what()).find(c.msg) != std::string::npos &&
              std::string(e.what()).find("offset " + std::to_string(g)) != std::string::npos;
      if (!threw) std::printf("  %s: message '%s'\n", c.what, e.what());
    }
    if (!threw) std::printf("  case '%s' not rejected as expected\n", c.what);
    CHECK(threw);
    // Through the reader: an error naming the file and the heap, libhdf5 never runs.
    CHECK_THROWS(kn::read_keras_h5(p), "corrupt HDF5 global heap collection");
    CHECK_THROWS(kn::read_keras_h5(p), "corrupt.h5");
  }
  fs::remove_all(dir);
}

// A byte changed inside an object's data (not its header) is harmless to
// libhdf5: the guard lets it through and the reader sees the changed text.
TEST(changed_object_data_passes_guard) {
  if (!have(kVlen, "changed_object_data_passes_guard")) return;
  const std::string dir = scratch("data");
  std::vector<uint8_t> b = slurp(kVlen);
  const size_t g = find_gcol(b);
  std::vector<Obj> objs = objects(b, g);
  // Find the model_config object ({"class_name": ...) and change its first letter.
  size_t at = std::string::npos;
  for (const Obj& o : objs)
    if (o.idx && o.size > 20 && std::memcmp(&b[o.at + 16], "{\"class_name\"", 13) == 0) at = o.at + 16;
  CHECK(at != std::string::npos);
  if (at == std::string::npos) return;
  b[at + 2] = 'C';  // {"Class_name" ...
  spit(dir + "/m.h5", b);
  kn::KerasH5 f = kn::read_keras_h5(dir + "/m.h5");
  CHECK(f.model_config.rfind("{\"Class_name\"", 0) == 0);
  fs::remove_all(dir);
}

namespace {

// A weights-only file whose dense_1/kernel:0 is replaced by `make(loc, name)`.
std::string file_with_dataset(const std::string& dir, hid_t (*make)(hid_t, const char*)) {
  kn::KerasH5 f;
  kn::H5Weight k{"dense_1/kernel:0", {2, 2}, {1, 2, 3, 4}};
  f.layers = {kn::H5Layer{"dense_1", {k}}};
  const std::string p = dir + "/claim.h5";
  kn::write_keras_h5(p, f, false);
  hid_t file = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t g = H5Gopen2(file, "/dense_1/dense_1", H5P_DEFAULT);
  H5Ldelete(g, "kernel:0", H5P_DEFAULT);
  hid_t d = make(g, "kernel:0");
  H5Dclose(d);
  H5Gclose(g);
  H5Fclose(file);
  return p;
}

// Chunked, extendible: 4 floats written, then extended to 2^30 elements (4 GiB).
hid_t extended_chunked(hid_t g, const char* name) {
  hsize_t dims[1] = {4}, maxd[1] = {H5S_UNLIMITED}, chunk[1] = {4};
  hid_t s = H5Screate_simple(1, dims, maxd);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, chunk);
  hid_t d = H5Dcreate2(g, name, H5T_IEEE_F32LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  float v[4] = {1, 2, 3, 4};
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  hsize_t big[1] = {hsize_t(1) << 30};
  H5Dset_extent(d, big);
  H5Sclose(s);
  H5Pclose(dcpl);
  return d;
}

// Chunked (1, 1) with shape (2^31, 2^31): 2^62 elements, nothing written.
hid_t huge_shape(hid_t g, const char* name) {
  hsize_t dims[2] = {hsize_t(1) << 31, hsize_t(1) << 31}, chunk[2] = {1, 1};
  hid_t s = H5Screate_simple(2, dims, nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 2, chunk);
  hid_t d = H5Dcreate2(g, name, H5T_IEEE_F32LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Sclose(s);
  H5Pclose(dcpl);
  return d;
}

// Contiguous (1000, 1000) never written: reads would be 4 MB of fill values.
hid_t unwritten(hid_t g, const char* name) {
  hsize_t dims[2] = {1000, 1000};
  hid_t s = H5Screate_simple(2, dims, nullptr);
  hid_t d = H5Dcreate2(g, name, H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(s);
  return d;
}

}  // namespace

// The file declares far more data than it stores: an error naming the file,
// the dataset, the weight and the shapes, before anything is allocated.
TEST(dataset_size_claims_are_checked_before_allocating) {
  const std::string dir = scratch("claims");
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::string p = file_with_dataset(dir, extended_chunked);
  CHECK(fs::file_size(p) < 16384);
  CHECK_THROWS(kn::read_keras_h5(p), "claim.h5");
  CHECK_THROWS(kn::read_keras_h5(p), "dataset '/dense_1/dense_1/kernel:0' (weight 'dense_1/kernel:0') declares shape (1073741824,)");
  CHECK_THROWS(kn::read_keras_h5(p), "(4294967296 bytes) but only 16 bytes are stored");
  p = file_with_dataset(dir, huge_shape);
  CHECK_THROWS(kn::read_keras_h5(p), "declares shape (2147483648, 2147483648), more than 2^36 elements");
  p = file_with_dataset(dir, unwritten);
  CHECK_THROWS(kn::read_keras_h5(p), "declares shape (1000, 1000) (4000000 bytes) but has no data stored");
  // The untouched file still reads (the check accepts honest files).
  kn::KerasH5 f;
  f.layers = {kn::H5Layer{"dense_1", {kn::H5Weight{"dense_1/kernel:0", {2, 2}, {1, 2, 3, 4}}}}};
  kn::write_keras_h5(dir + "/ok.h5", f, false);
  kn::KerasH5 g = kn::read_keras_h5(dir + "/ok.h5");
  CHECK(g.layers.size() == 1 && g.layers[0].weights[0].data == (std::vector<float>{1, 2, 3, 4}));
  fs::remove_all(dir);
}

// read_keras_h5 reads in a child process: a crash or an endless loop inside
// libhdf5 becomes a kn::Error naming the file, and this process lives on.
// (The hook variable makes the child crash / hang on purpose.)
TEST(isolated_reader_survives_crash_and_hang) {
  const std::string dir = scratch("iso");
  kn::KerasH5 f;
  f.model_config = "{}";
  f.layers = {kn::H5Layer{"dense_1", {kn::H5Weight{"dense_1/kernel:0", {2, 3}, {1, 2, 3, 4, 5, 6}}}}};
  kn::H5Weight it{"Adam/iterations:0", {}, {9.0f}, "int64", {9}};
  f.optimizer_weights = {it};
  const std::string p = dir + "/m.h5";
  kn::write_keras_h5(p, f, true);
  // The result crosses the process boundary intact.
  kn::KerasH5 g = kn::read_keras_h5(p);
  CHECK(g.full_model && g.model_config == "{}" && g.layers.size() == 1);
  CHECK(g.layers[0].weights[0].shape == (kn::Shape{2, 3}));
  CHECK(g.layers[0].weights[0].data == (std::vector<float>{1, 2, 3, 4, 5, 6}));
  CHECK(g.optimizer_weights.size() == 1 && g.optimizer_weights[0].int_data == std::vector<int64_t>{9});
  CHECK(g.optimizer_weights[0].dtype == "int64" && g.optimizer_weights[0].shape.empty());
  // Errors from the child keep their text.
  CHECK_THROWS(kn::read_keras_h5(dir + "/missing.h5"), "does not exist");
  std::ofstream(dir + "/text.h5") << "not hdf5";
  const std::string text_msg = "read_keras_h5 '" + dir + "/text.h5': not an HDF5 file";
  CHECK_THROWS(kn::read_keras_h5(dir + "/text.h5"), text_msg.c_str());
  setenv("KERASNATIVE_H5_CHILD_TEST", "segv", 1);
  CHECK_THROWS(kn::read_keras_h5(p), "libhdf5 crashed reading the file (the reading process was killed by signal 11)");
  CHECK_THROWS(kn::read_keras_h5(p), "m.h5");
  setenv("KERASNATIVE_H5_CHILD_TEST", "hang", 1);
  setenv("KERASNATIVE_H5_TIMEOUT", "1", 1);
  CHECK_THROWS(kn::read_keras_h5(p), "did not finish reading the file within 1 s");
  unsetenv("KERASNATIVE_H5_CHILD_TEST");
  unsetenv("KERASNATIVE_H5_TIMEOUT");
  CHECK(kn::read_keras_h5(p).layers.size() == 1);
  fs::remove_all(dir);
}

// Inputs found by tests/fuzz/fuzz_keras_h5.cpp (tests/fuzz/regressions/keras_h5):
// in-process, each made libhdf5 1.10.8 read out of bounds (attribute message
// decoding), crash (filter pipeline message), allocate 4 GiB to 7e18 bytes
// (object header sizes, a vlen length) or spend 40 s clearing such a buffer. Read as R reads them,
// each is a kn::Error naming the file (or, where the over-read happens to be
// harmless without AddressSanitizer, a normal result) - never a dead process.
TEST(fuzzer_findings_are_errors) {
  const std::string dir = "../fuzz/regressions/keras_h5";
  if (!fs::exists(dir)) {
    std::printf("  SKIP fuzzer_findings_are_errors: %s missing (run from tests/cpp)\n", dir.c_str());
    return;
  }
  setenv("KERASNATIVE_H5_TIMEOUT", "20", 1);  // one input makes libhdf5 memset 4 GiB
  int n = 0, errors = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    ++n;
    try {
      kn::read_keras_h5(e.path().string());
    } catch (const kn::Error& err) {
      ++errors;
      CHECK(std::string(err.what()).find(e.path().filename().string()) != std::string::npos);
    }
  }
  unsetenv("KERASNATIVE_H5_TIMEOUT");
  std::printf("  %d fuzzer findings: %d errors, %d read without error\n", n, errors, n - errors);
  CHECK(n >= 1);
}

KN_TEST_MAIN
