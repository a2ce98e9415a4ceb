// Sequential byte sources for the dataset file readers (IDX, .npy, .npz):
// a file, a memory range, or a zlib stream (gzip/zlib or raw deflate) over
// another source. Errors throw kn::Error naming the source.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tensor.h"

namespace kn {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to n bytes into dst; fewer only at the end of the data.
  virtual size_t read(char* dst, size_t n) = 0;
  // Bytes left when known without reading (plain file, memory), else -1.
  virtual int64_t remaining() const { return -1; }
  // Bytes returned so far (offsets in the decompressed data for zlib streams).
  uint64_t offset() const { return offset_; }

 protected:
  uint64_t offset_ = 0;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  size_t read(char* dst, size_t n) override;
  int64_t remaining() const override { return static_cast<int64_t>(data_.size() - offset_); }

 private:
  std::string_view data_;
};

class FileSource : public ByteSource {
 public:
  // Throws "<what> '<path>' does not exist" / "cannot be opened".
  FileSource(const std::string& path, const std::string& what);
  ~FileSource() override;
  size_t read(char* dst, size_t n) override;
  int64_t remaining() const override { return size_ - static_cast<int64_t>(offset_); }

 private:
  std::FILE* f_ = nullptr;
  std::string path_;
  int64_t size_ = 0;
};

// Inflates `in` (errors start with `name`, e.g. "invalid IDX file 'a.gz'"): Gzip accepts gzip (several members, as gzip -c a b makes)
// or zlib streams; Raw is bare deflate (zip members). `name` is for errors.
class InflateSource : public ByteSource {
 public:
  enum Mode { Gzip, Raw };
  InflateSource(std::unique_ptr<ByteSource> in, Mode mode, std::string name);
  ~InflateSource() override;
  size_t read(char* dst, size_t n) override;

 private:
  std::unique_ptr<ByteSource> in_;
  Mode mode_;
  std::string name_;
  void* zs_ = nullptr;  // z_stream*
  std::vector<char> inbuf_;  // (64 KiB,) compressed input
  bool in_eof_ = false, done_ = false;
};

// `src` at its start; returns a gunzipping source when the data begin with
// the gzip magic 1f 8b, else `src` itself. `gz` tells which.
std::unique_ptr<ByteSource> gunzip_if_gzip(std::unique_ptr<ByteSource> src, const std::string& name, bool* gz = nullptr);

// Reads up to n bytes into `out`: at most what the source is known to hold,
// or, when its size is unknown, growing geometrically from 64 KiB as the data
// arrive (so a false claim never sizes the buffer).
// Returns the count read (< n only when the data end).
uint64_t read_up_to(ByteSource& s, uint64_t n, std::vector<uint8_t>& out);

// Whole file in memory (allocation = the real file size).
std::string read_file_bytes(const std::string& path, const std::string& what);

// a * b, or -1 when the product exceeds `limit` (both operands >= 0).
inline int64_t checked_mul(int64_t a, int64_t b, int64_t limit) {
  if (a < 0 || b < 0) return -1;
  if (a == 0 || b == 0) return 0;
  if (a > limit / b) return -1;
  return a * b;
}

}  // namespace kn
