// IDX / .npy / .npz readers (src/formats/idx.*, npy.*). Inputs are built
// byte by byte here; expected values are written out by hand.
#include <zlib.h>

#include <cstring>
#include <string>
#include <vector>

#include "harness.h"
#include "idx.h"
#include "npy.h"

using namespace kn;

namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

NumArray idx_of(const std::string& data, const std::string& name = "mem.idx") {
  auto src = gunzip_if_gzip(std::make_unique<MemorySource>(data), "invalid IDX file '" + name + "'");
  return parse_idx(*src, name);
}

NumArray npy_of(const std::string& data) {
  MemorySource m(data);
  return parse_npy(m, "mem.npy");
}

// gzip (windowBits 31) or raw deflate (-15) of `s`
std::string deflate_with(const std::string& s, int window_bits) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, s.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  zs.avail_in = s.size();
  zs.next_out = reinterpret_cast<Bytef*>(&out[0]);
  zs.avail_out = out.size();
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  std::string h = dict;
  size_t pre = major == 1 ? 10 : 12;
  while ((pre + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string s = "\x93NUMPY";
  s += static_cast<char>(major);
  s += '\0';
  size_t n = h.size();
  s += static_cast<char>(n & 0xff);
  s += static_cast<char>((n >> 8) & 0xff);
  if (major > 1) s += bytes({0, 0});
  return s + h + data;
}

void put16(std::string& s, uint32_t v) { s += static_cast<char>(v & 0xff); s += static_cast<char>(v >> 8); }
void put32(std::string& s, uint32_t v) { put16(s, v & 0xffff); put16(s, v >> 16); }

struct Member { std::string name, data; bool deflate; };
// Minimal zip writer (local headers, central directory, end record).
std::string make_zip(const std::vector<Member>& ms) {
  std::string z, cd;
  for (const Member& m : ms) {
    std::string body = m.deflate ? deflate_with(m.data, -15) : m.data;
    uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(m.data.data()), m.data.size());
    uint32_t off = z.size();
    put32(z, 0x04034b50); put16(z, 20); put16(z, 0); put16(z, m.deflate ? 8 : 0); put32(z, 0);
    put32(z, crc); put32(z, body.size()); put32(z, m.data.size()); put16(z, m.name.size()); put16(z, 0);
    z += m.name + body;
    put32(cd, 0x02014b50); put16(cd, 20); put16(cd, 20); put16(cd, 0); put16(cd, m.deflate ? 8 : 0); put32(cd, 0);
    put32(cd, crc); put32(cd, body.size()); put32(cd, m.data.size()); put16(cd, m.name.size());
    put16(cd, 0); put16(cd, 0); put16(cd, 0); put16(cd, 0); put32(cd, 0); put32(cd, off);
    cd += m.name;
  }
  uint32_t cd_off = z.size();
  z += cd;
  put32(z, 0x06054b50); put16(z, 0); put16(z, 0); put16(z, ms.size()); put16(z, ms.size());
  put32(z, cd.size()); put32(z, cd_off); put16(z, 0);
  return z;
}

NumArray npz_get(const std::string& zip, const std::string& member) {
  for (const ZipEntry& e : zip_entries(zip, "mem.npz"))
    if (e.name == member) return npz_member(zip, e, "mem.npz");
  throw Error("no member " + member);
}

}  // namespace

TEST(idx_u8_three_dims) {
  // 2 images of 2 x 3: values 1..12 in row-major order
  std::string f = bytes({0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  NumArray a = idx_of(f);
  CHECK(a.kind == NumArray::U8);
  CHECK((a.shape == Shape{2, 2, 3}));
  CHECK(a.u8.size() == 12 && a.u8[0] == 1 && a.u8[5] == 6 && a.u8[11] == 12);
  // the same file gzipped reads the same
  NumArray g = idx_of(deflate_with(f, 31));
  CHECK(g.u8 == a.u8 && g.shape == a.shape);
}

TEST(idx_wide_types_big_endian) {
  NumArray s = idx_of(bytes({0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x01, 0x00}));  // int16: -2, 256
  CHECK(s.kind == NumArray::I32 && s.i32 == std::vector<int32_t>({-2, 256}));
  NumArray i = idx_of(bytes({0, 0, 0x0C, 1, 0, 0, 0, 1, 0x80, 0, 0, 1}));  // int32 -2147483647
  CHECK(i.i32 == std::vector<int32_t>({-2147483647}));
  NumArray b = idx_of(bytes({0, 0, 0x09, 1, 0, 0, 0, 2, 0x80, 0x7F}));  // int8 -128, 127
  CHECK(b.i32 == std::vector<int32_t>({-128, 127}));
  NumArray f = idx_of(bytes({0, 0, 0x0D, 1, 0, 0, 0, 2, 0x3F, 0x80, 0, 0, 0xC0, 0x20, 0, 0}));  // 1.0f, -2.5f
  CHECK(f.kind == NumArray::F64 && f.f64 == std::vector<double>({1.0, -2.5}));
  NumArray d = idx_of(bytes({0, 0, 0x0E, 1, 0, 0, 0, 1, 0x40, 0, 0, 0, 0, 0, 0, 0}));  // 2.0
  CHECK(d.f64 == std::vector<double>({2.0}));
}

TEST(idx_bad_headers_name_file_and_offset) {
  CHECK_THROWS(idx_of(bytes({0x12, 0x34, 8, 1, 0, 0, 0, 1, 5}), "a.idx"), "invalid IDX file 'a.idx': bad magic number 0x12340801");
  CHECK_THROWS(idx_of(bytes({0, 0, 0x42, 1})), "unknown data type code 0x42");
  CHECK_THROWS(idx_of(bytes({0, 0, 8, 0})), "number of dimensions is 0");
  CHECK_THROWS(idx_of(bytes({0, 0})), "truncated header: 2 of 4 magic bytes (at byte offset 2)");
  CHECK_THROWS(idx_of(bytes({0, 0, 8, 3, 0, 0, 0, 2, 0, 0})), "truncated header: 1 of 3 dimension sizes present (at byte offset 10)");
  CHECK_THROWS(idx_of(bytes({0, 0, 8, 1, 0, 0, 0, 3, 1, 2})), "header declares 3 = 3 unsigned byte values but only 2 are present (at byte offset 10)");
  CHECK_THROWS(idx_of(bytes({0, 0, 8, 1, 0, 0, 0, 1, 1, 2})), "unexpected trailing bytes after the 1 values declared by the header (1) (at byte offset 9)");
}

TEST(idx_absurd_claims_are_checked_before_allocating) {
  // 10^9 images of 28 x 28 (0x3B9ACA00): more values than an R array holds
  std::string hdr = bytes({0, 0, 8, 3, 0x3B, 0x9A, 0xCA, 0x00, 0, 0, 0, 28, 0, 0, 0, 28});
  CHECK_THROWS(idx_of(hdr), "header declares 1000000000 x 28 x 28 values, more than the 2147483647");
  // 2,000,000 x 28 x 28 = 1.568e9 fits; a plain 16-byte file holds none of it
  std::string two_m = bytes({0, 0, 8, 3, 0x00, 0x1E, 0x84, 0x80, 0, 0, 0, 28, 0, 0, 0, 28});
  CHECK_THROWS(idx_of(two_m), "2000000 x 28 x 28 = 1568000000 unsigned byte values but only 0 are present (at byte offset 16)");
  // gzipped, the size is unknown up front: read in chunks, fails at the real end
  CHECK_THROWS(idx_of(deflate_with(two_m + std::string(100, '\7'), 31)), "only 100 are present (at byte offset 116)");
  // dims whose product overflows 64 bits
  std::string huge = bytes({0, 0, 0x0E, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});
  CHECK_THROWS(idx_of(huge), "more than the 2147483647");
}

TEST(idx_corrupt_gzip) {
  std::string f = bytes({0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 4});
  std::string gz = deflate_with(f, 31);
  CHECK_THROWS(idx_of(gz.substr(0, gz.size() - 6), "t.gz"), "invalid IDX file 't.gz': truncated compressed data");
  std::string bad = gz;
  bad[12] ^= 0x55;  // inside the deflate data
  bool threw = false;
  try { idx_of(bad, "c.gz"); } catch (const Error& e) { threw = std::string(e.what()).find("invalid IDX file 'c.gz'") != std::string::npos; }
  CHECK(threw);
  // two gzip members (gzip -c a b) are one stream
  NumArray two = idx_of(deflate_with(f.substr(0, 9), 31) + deflate_with(f.substr(9), 31));
  CHECK(two.u8 == std::vector<uint8_t>({1, 2, 3, 4}));
  CHECK_THROWS(idx_of(gz + "junk", "j.gz"), "unexpected bytes after the end of the compressed stream");
}

TEST(npy_dtypes_and_orders) {
  NumArray c = npy_of(npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", bytes({1, 2, 3, 4, 5, 6})));
  CHECK(c.kind == NumArray::U8 && (c.shape == Shape{2, 3}) && !c.fortran_order && c.u8[4] == 5);
  NumArray f = npy_of(npy_bytes("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", bytes({1, 2, 3, 4, 5, 6})));
  CHECK(f.fortran_order);
  NumArray i2 = npy_of(npy_bytes("{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }", bytes({1, 0, 0xff, 0xff, 0, 0x80})));
  CHECK(i2.i32 == std::vector<int32_t>({1, -1, -32768}));
  NumArray u2 = npy_of(npy_bytes("{'descr': '>u2', 'fortran_order': False, 'shape': (1,), }", bytes({0xff, 0xfe})));
  CHECK(u2.i32 == std::vector<int32_t>({65534}));
  NumArray u4 = npy_of(npy_bytes("{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }", bytes({0xff, 0xff, 0xff, 0xff})));
  CHECK(u4.kind == NumArray::F64 && u4.f64 == std::vector<double>({4294967295.0}));
  NumArray i8 = npy_of(npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                                 bytes({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0})));
  CHECK(i8.f64 == std::vector<double>({-2.0, 4294967296.0}));
  NumArray f8 = npy_of(npy_bytes("{\"descr\": \">f8\", \"fortran_order\": False, \"shape\": (1,)}", bytes({0xC0, 0x04, 0, 0, 0, 0, 0, 0})));
  CHECK(f8.f64 == std::vector<double>({-2.5}));
  NumArray b1 = npy_of(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", bytes({0, 1, 7})));
  CHECK(b1.kind == NumArray::Bool && b1.u8 == std::vector<uint8_t>({0, 1, 1}));
  NumArray scalar = npy_of(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", bytes({0, 0, 0x80, 0x3F})));
  CHECK(scalar.shape.empty() && scalar.f64 == std::vector<double>({1.0}));
  NumArray v2 = npy_of(npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", bytes({9, 8}), 2));
  CHECK(v2.u8 == std::vector<uint8_t>({9, 8}));
  NumArray empty = npy_of(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", ""));
  CHECK(empty.f64.empty() && (empty.shape == Shape{0, 5}));
}

TEST(npy_bad_files) {
  CHECK_THROWS(npy_of("NOTNUMPYATALL"), "invalid .npy file 'mem.npy': bad magic string");
  CHECK_THROWS(npy_of(npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4), }", std::string(10, 'x'))),
               "needs 12 values but only 10 are present (at byte offset 138)");
  CHECK_THROWS(npy_of(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", std::string(16, 'x'))),
               "unsupported dtype '<c8'");
  CHECK_THROWS(npy_of(npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", "abc")), "unexpected trailing bytes");
  CHECK_THROWS(npy_of(npy_bytes("{'descr': '|u1', 'shape': (2,), }", "ab")), "lacks 'fortran_order'");
  CHECK_THROWS(npy_of(npy_bytes("{'descr': '|u1', 'fortran_order': Maybe, 'shape': (2,), }", "ab")), "expected True or False");
  CHECK_THROWS(npy_of(npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, -1), }", "ab")), "expected a non-negative dimension size");
  CHECK_THROWS(npy_of(npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,), }", "")), "dimension size too large");
  CHECK_THROWS(npy_of(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", "")),
               "more values than the 2147483647");
  CHECK_THROWS(npy_of(npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", "ab").substr(0, 20)),
               "truncated header: 10 of 118 header bytes present");
  // a version-2 header length of 4 GiB is refused before anything is allocated
  CHECK_THROWS(npy_of(std::string("\x93NUMPY\x02\x00", 8) + bytes({0xff, 0xff, 0xff, 0xff})), "header length 4294967295 exceeds");
  CHECK_THROWS(npy_of(std::string("\x93NUMPY\x07\x00", 8)), "unsupported format version 7.0");
}

TEST(npz_stored_and_deflated_members) {
  std::string a = npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", bytes({1, 2, 3, 4}));
  std::string b = npy_bytes("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", bytes({5, 0, 0xfb, 0xff}));
  std::string z = make_zip({{"a.npy", a, false}, {"b.npy", b, true}});
  std::vector<ZipEntry> es = zip_entries(z, "mem.npz");
  CHECK(es.size() == 2 && es[0].name == "a.npy" && es[0].method == 0 && es[1].method == 8);
  CHECK(npz_get(z, "a.npy").u8 == std::vector<uint8_t>({1, 2, 3, 4}));
  CHECK(npz_get(z, "b.npy").i32 == std::vector<int32_t>({5, -5}));
}

TEST(npz_bad_archives) {
  std::string a = npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", bytes({1, 2, 3, 4}));
  std::string z = make_zip({{"a.npy", a, false}});
  CHECK_THROWS(zip_entries("this is not a zip file", "j.npz"), "invalid .npz file 'j.npz': not a readable zip archive");
  // a flipped data byte: CRC mismatch
  std::string bad = z;
  bad[30 + 5 + a.size() - 1] ^= 1;
  CHECK_THROWS(npz_get(bad, "a.npy"), "CRC-32 mismatch");
  // central directory offset pointing past the end
  std::string off = z;
  off[off.size() - 6] = static_cast<char>(0xf0);
  CHECK_THROWS(zip_entries(off, "o.npz"), "lies outside");
  // entry claiming 4 GiB of compressed data
  std::vector<ZipEntry> es = zip_entries(z, "mem.npz");
  es[0].csize = 0xffffffffu;
  CHECK_THROWS(npz_member(z, es[0], "mem.npz"), "run past the end");
  es = zip_entries(z, "mem.npz");
  es[0].local_offset = 3;
  CHECK_THROWS(npz_member(z, es[0], "mem.npz"), "no local header at byte offset 3");
  es = zip_entries(z, "mem.npz");
  es[0].method = 12;
  CHECK_THROWS(npz_member(z, es[0], "mem.npz"), "compression method 12");
  // an entry count the directory cannot hold
  std::string cnt = z;
  cnt[cnt.size() - 12] = static_cast<char>(0xff);
  CHECK_THROWS(zip_entries(cnt, "c.npz"), "claims 255 entries in 51 bytes");
}

KN_TEST_MAIN
