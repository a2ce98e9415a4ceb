// Byte sources for the dataset file readers (see byte_source.h).
#include "byte_source.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace kn {

size_t MemorySource::read(char* dst, size_t n) {
  size_t k = std::min(n, data_.size() - static_cast<size_t>(offset_));
  if (k) std::memcpy(dst, data_.data() + offset_, k);
  offset_ += k;
  return k;
}

FileSource::FileSource(const std::string& path, const std::string& what) : path_(path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw Error(what + " '" + path + "' does not exist");
  if (S_ISDIR(st.st_mode)) throw Error(what + " '" + path + "' is a directory, not a file");
  f_ = std::fopen(path.c_str(), "rb");
  if (!f_) throw Error(what + " '" + path + "' cannot be opened: " + std::strerror(errno));
  size_ = static_cast<int64_t>(st.st_size);
}

FileSource::~FileSource() {
  if (f_) std::fclose(f_);
}

size_t FileSource::read(char* dst, size_t n) {
  size_t k = std::fread(dst, 1, n, f_);
  if (k < n && std::ferror(f_)) throw Error("read error in '" + path_ + "' at byte offset " + std::to_string(offset_ + k));
  offset_ += k;
  return k;
}

InflateSource::InflateSource(std::unique_ptr<ByteSource> in, Mode mode, std::string name)
    : in_(std::move(in)), mode_(mode), name_(std::move(name)), inbuf_(1 << 16) {
  auto* zs = new z_stream();
  // 15 + 32: gzip or zlib header detected automatically; -15: raw deflate
  if (inflateInit2(zs, mode == Gzip ? 15 + 32 : -15) != Z_OK) {
    delete zs;
    throw Error(name_ + ": cannot initialise zlib");
  }
  zs_ = zs;
}

InflateSource::~InflateSource() {
  auto* zs = static_cast<z_stream*>(zs_);
  inflateEnd(zs);
  delete zs;
}

size_t InflateSource::read(char* dst, size_t n) {
  auto* zs = static_cast<z_stream*>(zs_);
  size_t got = 0;
  while (got < n && !done_) {
    if (zs->avail_in == 0 && !in_eof_) {
      size_t k = in_->read(inbuf_.data(), inbuf_.size());
      if (k < inbuf_.size()) in_eof_ = true;
      zs->next_in = reinterpret_cast<Bytef*>(inbuf_.data());
      zs->avail_in = static_cast<uInt>(k);
    }
    size_t want = std::min<size_t>(n - got, 1u << 30);
    zs->next_out = reinterpret_cast<Bytef*>(dst + got);
    zs->avail_out = static_cast<uInt>(want);
    int ret = inflate(zs, Z_NO_FLUSH);
    size_t produced = want - zs->avail_out;
    got += produced;
    if (ret == Z_STREAM_END) {
      if (mode_ == Raw) { done_ = true; break; }
      // another gzip member may follow (gzip -c a b > c); anything else is an error
      if (zs->avail_in == 0 && !in_eof_) {
        size_t k = in_->read(inbuf_.data(), inbuf_.size());
        if (k < inbuf_.size()) in_eof_ = true;
        zs->next_in = reinterpret_cast<Bytef*>(inbuf_.data());
        zs->avail_in = static_cast<uInt>(k);
      }
      if (zs->avail_in == 0) { done_ = true; break; }
      if (zs->avail_in >= 2 && zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b) {
        inflateReset(zs);
        continue;
      }
      throw Error(name_ + ": unexpected bytes after the end of the compressed stream (at compressed byte offset " +
                  std::to_string(zs->total_in) + ")");
    }
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR && zs->avail_in == 0 && in_eof_)
      throw Error(name_ + ": truncated compressed data (the stream ends after " + std::to_string(offset_ + got) +
                  " decompressed bytes)");
    throw Error(name_ + ": corrupt compressed data (zlib: " + std::string(zs->msg ? zs->msg : "error " + std::to_string(ret)) +
                ") after " + std::to_string(offset_ + got) + " decompressed bytes");
  }
  offset_ += got;
  return got;
}

namespace {
// Returns the bytes already read, then the rest of `rest`.
class PrefixedSource : public ByteSource {
 public:
  PrefixedSource(std::string pre, std::unique_ptr<ByteSource> rest) : pre_(std::move(pre)), rest_(std::move(rest)) {}
  size_t read(char* dst, size_t n) override {
    size_t k = 0;
    if (pos_ < pre_.size()) {
      k = std::min(n, pre_.size() - pos_);
      std::memcpy(dst, pre_.data() + pos_, k);
      pos_ += k;
    }
    if (k < n) k += rest_->read(dst + k, n - k);
    offset_ += k;
    return k;
  }
  int64_t remaining() const override {
    int64_t r = rest_->remaining();
    return r < 0 ? -1 : r + static_cast<int64_t>(pre_.size() - pos_);
  }

 private:
  std::string pre_;
  size_t pos_ = 0;
  std::unique_ptr<ByteSource> rest_;
};
}  // namespace

std::unique_ptr<ByteSource> gunzip_if_gzip(std::unique_ptr<ByteSource> src, const std::string& name, bool* gz) {
  char magic[2];
  size_t k = src->read(magic, 2);
  bool is_gz = k == 2 && static_cast<unsigned char>(magic[0]) == 0x1f && static_cast<unsigned char>(magic[1]) == 0x8b;
  if (gz) *gz = is_gz;
  auto pre = std::make_unique<PrefixedSource>(std::string(magic, k), std::move(src));
  if (!is_gz) return pre;
  return std::make_unique<InflateSource>(std::move(pre), InflateSource::Gzip, name);
}

uint64_t read_up_to(ByteSource& s, uint64_t n, std::vector<uint8_t>& out) {
  out.clear();
  const int64_t rem = s.remaining();
  if (rem >= 0) {  // size known: one read of what is really there
    out.resize(static_cast<size_t>(std::min<uint64_t>(n, static_cast<uint64_t>(rem))));
    size_t k = out.empty() ? 0 : s.read(reinterpret_cast<char*>(out.data()), out.size());
    out.resize(k);
    return k;
  }
  // size unknown (a compressed stream): grow geometrically from 64 KiB, so a
  // false claim costs at most twice the data really present
  uint64_t got = 0;
  while (got < n) {
    uint64_t want = std::min(n - got, std::max<uint64_t>(got, 1u << 16));
    out.resize(static_cast<size_t>(got + want));
    size_t k = s.read(reinterpret_cast<char*>(out.data() + got), static_cast<size_t>(want));
    got += k;
    if (k < want) break;
  }
  out.resize(static_cast<size_t>(got));
  return got;
}

std::string read_file_bytes(const std::string& path, const std::string& what) {
  FileSource f(path, what);
  std::string s(static_cast<size_t>(std::max<int64_t>(f.remaining(), 0)), '\0');
  size_t k = f.read(&s[0], s.size());
  s.resize(k);
  return s;
}

}  // namespace kn
