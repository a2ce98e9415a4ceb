// TFRecord framing: plain, GZIP and ZLIB streams. The first byte picks how
// the rest is used: 0-3 read as is with compression auto/none/gzip/zlib;
// 4/5 are framed records the harness compresses first (gzip/zlib), so the
// framing checks run inside decompressed streams too.
#include <zlib.h>

#include <string>

#include "fuzz_util.h"
#include "tfrecord.h"

namespace {
std::string compress(const uint8_t* d, size_t n, bool gzip) {
  z_stream zs{};
  deflateInit2(&zs, 1, Z_DEFLATED, gzip ? 31 : 15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, n) + 32, '\0');
  zs.next_in = const_cast<Bytef*>(d);
  zs.avail_in = static_cast<uInt>(n);
  zs.next_out = reinterpret_cast<Bytef*>(&out[0]);
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 6;
  const bool verify = (data[0] / 6) % 2 == 0;
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  kn::Compression c = mode == 1 ? kn::Compression::None : mode == 2 || mode == 4 ? kn::Compression::Gzip
                      : mode == 3 || mode == 5 ? kn::Compression::Zlib : kn::Compression::Auto;
  if (mode >= 4) body = compress(data + 1, size - 1, mode == 4);
  const std::string& path = kn_fuzz::write_scratch(".tfrecord", reinterpret_cast<const uint8_t*>(body.data()), body.size());
  int64_t n = 0;
  try {
    kn::TFRecordReader r(path, c, verify);
    std::string rec;
    while (r.next(rec)) {
      ++n;
      FUZZ_ASSERT(r.record_index() == n - 1);
      FUZZ_ASSERT(rec.size() <= body.size() + (mode >= 4 ? size : 0));
    }
    // a second pass after rewind() sees the same records
    r.rewind();
    int64_t again = 0;
    std::string_view v;
    while (r.next_view(v)) ++again;
    FUZZ_ASSERT(again == n);
  } catch (const kn::Error&) {
  }
  return 0;
}
