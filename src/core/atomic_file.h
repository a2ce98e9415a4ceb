// Write-then-rename for files that must never be left half written.
//
//   kn::AtomicFile f(path);        // picks a temp name next to `path`
//   write_everything(f.tmp_path()); // write and CLOSE the temp file
//   f.commit();                     // rename(tmp, path): the target is either
//                                   // the old file or the complete new one
//
// If commit() is never reached (an exception, an early return) the destructor
// removes the temp file and the previous file at `path` stays untouched. The
// temp file lives in the same directory as `path` so the rename never crosses
// a file system (rename(2) is atomic on POSIX). A process killed mid-write
// leaves at most a stray ".<name>.tmp-<pid>-<n>" file, never a partial target.
#pragma once
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "tensor.h"  // kn::Error

#ifdef _WIN32
#include <process.h>
#define KN_GETPID _getpid
#else
#include <fcntl.h>
#include <unistd.h>
#define KN_GETPID getpid
#endif

namespace kn {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {
    if (path_.empty()) throw Error("AtomicFile: empty file path");
    static std::atomic<unsigned long> counter{0};
    size_t slash = path_.find_last_of("/\\");
    std::string dir = slash == std::string::npos ? "" : path_.substr(0, slash + 1);
    std::string base = slash == std::string::npos ? path_ : path_.substr(slash + 1);
    if (base.empty()) throw Error("AtomicFile: '" + path_ + "' names a directory, not a file");
    tmp_ = dir + "." + base + ".tmp-" + std::to_string(static_cast<long>(KN_GETPID())) + "-" +
           std::to_string(counter++);
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (!committed_) std::remove(tmp_.c_str());
  }

  const std::string& path() const { return path_; }
  const std::string& tmp_path() const { return tmp_; }
  bool committed() const { return committed_; }

  // Flushes the (closed) temp file to disk and renames it onto path().
  // Throws kn::Error naming both paths when the rename fails (the temp file is
  // then removed by the destructor and the target is unchanged).
  void commit() {
    if (committed_) return;
#ifndef _WIN32
    int fd = ::open(tmp_.c_str(), O_RDONLY);
    if (fd < 0)
      throw Error("cannot finish writing '" + path_ + "': temporary file '" + tmp_ +
                  "' is missing (" + std::strerror(errno) + ")");
    ::fsync(fd);
    ::close(fd);
#else
    std::remove(path_.c_str());  // Windows rename() does not replace an existing file
#endif
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
      throw Error("cannot move '" + tmp_ + "' to '" + path_ + "': " + std::strerror(errno));
    committed_ = true;
  }

 private:
  std::string path_;
  std::string tmp_;
  bool committed_ = false;
};

}  // namespace kn

#undef KN_GETPID
