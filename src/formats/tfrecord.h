// TFRecord files: framing reader/writer with optional whole-stream GZIP/ZLIB
// compression (zlib). Pure C++17, namespace kn; errors throw kn::Error.
//
// Record framing (all integers little-endian):
//   uint64 length | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)
// with mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8.
//
// Compression "auto" (reader) is resolved from the first bytes of the file:
//   1. empty file                                   -> none (zero records)
//   2. starts with 1f 8b                            -> GZIP
//   3. first 12 bytes are a valid record header
//      (masked CRC of bytes 0..7 equals bytes 8..11) -> none
//   4. bytes 0,1 form a zlib header: CMF & 0x0f == 8 (deflate), CMF >> 4 <= 7,
//      (CMF * 256 + FLG) % 31 == 0, FDICT clear   -> ZLIB
//   5. otherwise by extension: .gz/.gzip -> GZIP, .zlib/.zz -> ZLIB, else none
//      (which then fails with "not a TFRecord file").
// Rule 3 before 4 matters: a plain file whose first length byte happens to be
// 0x78 still has a valid header CRC, whereas a zlib stream essentially never does.
// Writer "auto" uses the extension only (.gz/.gzip -> GZIP, .zlib/.zz -> ZLIB).
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tensor.h"

namespace kn {

class AtomicFile;

enum class Compression { None, Gzip, Zlib, Auto };

// "" / "none" / "NONE" -> None, "gzip"/"GZIP" -> Gzip, "zlib"/"ZLIB" -> Zlib,
// "auto"/"AUTO" -> Auto (case-insensitive). Anything else throws.
Compression parse_compression(const std::string& name);
const char* compression_name(Compression c);  // "NONE", "GZIP", "ZLIB", "AUTO"
// The reader's "auto" rule above, applied to a file on disk.
Compression detect_compression(const std::string& path);

// Append one framed record (12-byte header + data + 4-byte footer) to `out`.
void append_framed_record(std::string& out, const char* data, size_t n);
inline std::string frame_record(std::string_view data) {
  std::string s;
  append_framed_record(s, data.data(), data.size());
  return s;
}

namespace detail {
struct ByteSource;  // raw file or inflating stream (tfrecord.cpp)
}

// Streaming reader. Typical loop:
//   TFRecordReader r(path, Compression::Auto); std::string rec;
//   while (r.next(rec)) { ... r.record_index(), r.record_offset() ... }
class TFRecordReader {
 public:
  TFRecordReader();
  explicit TFRecordReader(const std::string& path, Compression c = Compression::Auto,
                          bool verify_crc = true);
  TFRecordReader(const std::string& path, const std::string& compression);
  ~TFRecordReader();
  TFRecordReader(const TFRecordReader&) = delete;
  TFRecordReader& operator=(const TFRecordReader&) = delete;

  void open(const std::string& path, Compression c = Compression::Auto, bool verify_crc = true);
  void open(const std::string& path, const std::string& compression) {
    open(path, parse_compression(compression));
  }
  void close();
  bool is_open() const { return static_cast<bool>(src_); }
  // Start again from the first record (same file, same compression).
  void rewind();

  // Reads the next record into `record` (its capacity is reused). Returns false
  // at a clean end of file; throws kn::Error on any corruption/truncation.
  bool next(std::string& record);
  // Zero-copy variant: `record` points into the reader's buffer and stays valid
  // until the next call to next()/next_view()/close().
  bool next_view(std::string_view& record);

  // Index (0-based) and byte offset of the start of the record last returned by
  // next(); for compressed files the offset is in the decompressed stream.
  // -1 / 0 before the first record.
  int64_t record_index() const { return index_; }
  uint64_t record_offset() const { return rec_offset_; }
  // Resolved compression (never Auto after open()).
  Compression compression() const { return comp_; }
  const std::string& path() const { return path_; }
  // Bytes reserved by the read buffer: it grows with the records really read
  // (about twice the largest), never with a length a record header claims.
  size_t buffer_capacity() const { return buf_.capacity(); }
  // "TFRecord file '<path>' (GZIP), record 3 at decompressed byte offset 1234":
  // context for error messages raised by callers (e.g. Example parsing).
  std::string where() const;

 private:
  size_t fill(size_t need);  // make `need` bytes available at pos_; returns available
  [[noreturn]] void fail(int64_t index, uint64_t offset, const std::string& what) const;
  std::string where_at(int64_t index, uint64_t offset) const;

  std::string path_;
  Compression comp_ = Compression::None;
  bool verify_crc_ = true;
  std::unique_ptr<detail::ByteSource> src_;
  std::vector<char> buf_;  // (cap,) bytes of the (decompressed) stream, grown by need
  size_t pos_ = 0, end_ = 0;
  size_t read_ahead_ = 0;  // next read-ahead size (bytes), set by open()
  uint64_t buf_offset_ = 0;  // stream offset of buf_[0]
  bool src_eof_ = false;
  int64_t index_ = -1;
  uint64_t rec_offset_ = 0;
};

// Writes to a hidden temporary file in the same directory (kn::AtomicFile:
// ".<name>.tmp-<pid>-<n>") and renames it to `path` on close(), so `path` is
// always either the previous file or the complete new one, even if the process
// is killed mid-write. Destroying an open writer without close(), abort(), or
// any write/close error deletes the temporary file.
class TFRecordWriter {
 public:
  TFRecordWriter();
  // level: zlib level 0..9 or -1 (default) for GZIP/ZLIB; ignored for None.
  explicit TFRecordWriter(const std::string& path, Compression c = Compression::None,
                          int level = -1);
  TFRecordWriter(const std::string& path, const std::string& compression, int level = -1);
  ~TFRecordWriter();
  TFRecordWriter(const TFRecordWriter&) = delete;
  TFRecordWriter& operator=(const TFRecordWriter&) = delete;

  void open(const std::string& path, Compression c = Compression::None, int level = -1);
  void write(const char* data, size_t n);
  void write(std::string_view record) { write(record.data(), record.size()); }
  // Append `n_records` records already framed by append_framed_record()
  // (e.g. encoded on worker threads), as they are.
  void write_framed(std::string_view framed, int64_t n_records);
  // Flush, finish the compressed stream, rename the temporary file to path().
  void close();
  // Discard everything written so far (removes the temporary file).
  void abort();

  bool is_open() const { return f_ != nullptr; }
  int64_t records_written() const { return count_; }
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }
  Compression compression() const { return comp_; }

 private:
  void put(const char* data, size_t n);  // through deflate if compressing
  void deflate_out(int flush);
  [[noreturn]] void fail(const std::string& what);

  std::string path_, tmp_;
  Compression comp_ = Compression::None;
  std::unique_ptr<AtomicFile> file_;  // owns the temporary name until commit
  std::FILE* f_ = nullptr;
  void* zs_ = nullptr;  // z_stream* when compressing
  std::vector<unsigned char> zbuf_;
  int64_t count_ = 0;
};

// Convenience: all records of a file.
std::vector<std::string> read_tfrecords(const std::string& path,
                                        Compression c = Compression::Auto);
// Count records (verifying all CRCs).
int64_t count_tfrecords(const std::string& path, Compression c = Compression::Auto);

}  // namespace kn
