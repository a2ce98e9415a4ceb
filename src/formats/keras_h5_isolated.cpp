// read_keras_h5: the in-process reader run in a child process (POSIX), so a
// crash or an endless loop inside libhdf5 on a hostile file ends the child,
// not R. See keras_h5.h.
//
// Why a process: libhdf5 1.10.8 (Debian 12) has memory bugs on malformed
// metadata beyond the global heaps that h5_guard checks (the fuzzer's first
// minute found over-reads in attribute-message decoding, reached from
// H5Aexists), and they cannot all be pre-validated. The child reads the file
// with read_keras_h5_in_process, writes the result (or the kn::Error text) to a
// pipe and exits (exit_group, as _exit does); the parent rebuilds the KerasH5. If the child
// dies on a signal, exits without a complete result, or exceeds the time limit
// (60 s + 1 s per MB of file, or $KERASNATIVE_H5_TIMEOUT seconds; it is then
// killed), the parent throws kn::Error naming the file.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "keras_h5.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define KN_ASAN_BUILD 1
#endif

#ifndef _WIN32
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

namespace kn {

#ifdef _WIN32
KerasH5 read_keras_h5(const std::string& path) { return read_keras_h5_in_process(path); }
#else

namespace {

// ---- a small length-prefixed encoding of KerasH5 (child -> parent)
void put_u64(std::string& b, uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); }
void put_str(std::string& b, const std::string& s) {
  put_u64(b, s.size());
  b += s;
}
template <class T>
void put_vec(std::string& b, const std::vector<T>& v) {
  put_u64(b, v.size());
  b.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
void put_weights(std::string& b, const std::vector<H5Weight>& ws) {
  put_u64(b, ws.size());
  for (const H5Weight& w : ws) {
    put_str(b, w.name);
    put_vec(b, w.shape);
    put_vec(b, w.data);
    put_str(b, w.dtype);
    put_vec(b, w.int_data);
  }
}
std::string encode(const KerasH5& f) {
  std::string b;
  put_str(b, f.keras_version);
  put_str(b, f.backend);
  put_str(b, f.model_config);
  put_str(b, f.training_config);
  put_u64(b, f.full_model ? 1 : 0);
  put_u64(b, f.layers.size());
  for (const H5Layer& l : f.layers) {
    put_str(b, l.name);
    put_weights(b, l.weights);
  }
  put_weights(b, f.optimizer_weights);
  return b;
}

// Bounds-checked reader of that encoding.
struct Reader {
  const std::string& b;
  size_t at = 0;
  void need(uint64_t n) const {
    if (n > b.size() - at) throw Error("read_keras_h5: truncated result from the reading process");
  }
  uint64_t u64() {
    need(8);
    uint64_t v;
    std::memcpy(&v, b.data() + at, 8);
    at += 8;
    return v;
  }
  std::string str() {
    const uint64_t n = u64();
    need(n);
    std::string s = b.substr(at, n);
    at += n;
    return s;
  }
  template <class T>
  std::vector<T> vec() {
    const uint64_t n = u64();
    if (n > (b.size() - at) / sizeof(T)) throw Error("read_keras_h5: truncated result from the reading process");
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), b.data() + at, n * sizeof(T));
    at += n * sizeof(T);
    return v;
  }
  std::vector<H5Weight> weights() {
    std::vector<H5Weight> ws(u64_count(48));
    for (H5Weight& w : ws) {
      w.name = str();
      w.shape = vec<int64_t>();
      w.data = vec<float>();
      w.dtype = str();
      w.int_data = vec<int64_t>();
    }
    return ws;
  }
  // A count of items that take at least `min_bytes` each.
  uint64_t u64_count(uint64_t min_bytes) {
    const uint64_t n = u64();
    if (n > (b.size() - at) / min_bytes) throw Error("read_keras_h5: malformed result from the reading process");
    return n;
  }
};

KerasH5 decode(const std::string& b) {
  Reader r{b};
  KerasH5 f;
  f.keras_version = r.str();
  f.backend = r.str();
  f.model_config = r.str();
  f.training_config = r.str();
  f.full_model = r.u64() != 0;
  f.layers.resize(r.u64_count(16));
  for (H5Layer& l : f.layers) {
    l.name = r.str();
    l.weights = r.weights();
  }
  f.optimizer_weights = r.weights();
  return f;
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

double now_s() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

KerasH5 read_keras_h5(const std::string& path) {
  const std::string where = "read_keras_h5 '" + path + "': ";
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return read_keras_h5_in_process(path);  // missing file etc.: the reader says what is wrong
  int fds[2];
  if (::pipe(fds) != 0) throw Error(where + "cannot create a pipe: " + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(where + "cannot start the reading process: " + std::strerror(errno));
  }
  if (pid == 0) {  // child: default crash handlers (not R's), read, report, exit
    for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(s, SIG_DFL);
    ::close(fds[0]);
#ifdef KN_ASAN_BUILD
    // make sanitize: libhdf5's own memory errors on hostile files, caught in this
    // child (which then dies, as intended), are logged apart from the reports
    // of our code (tools/sanitize.sh lists them without failing).
    if (const char* p = std::getenv("KN_SAN_CHILD_LOG")) __sanitizer_set_report_path(p);
#endif
    // Test hook (tests/cpp/test_h5_guard.cpp): simulate libhdf5 crashing or looping.
    const char* t = std::getenv("KERASNATIVE_H5_CHILD_TEST");
    if (t && std::strcmp(t, "segv") == 0) ::raise(SIGSEGV);
    if (t && std::strcmp(t, "hang") == 0)
      for (;;) ::pause();
    std::string out;
    try {
      out = "K" + encode(read_keras_h5_in_process(path));
    } catch (const std::exception& e) {
      out = std::string("E") + e.what();
    }
    std::string msg;
    put_u64(msg, out.size());
    write_all(fds[1], msg + out);
    ::close(fds[1]);
    // Leave without running the exit handlers inherited from R's process
    // (what _exit does): the raw system call, because R CMD check flags any
    // reference to _exit in package code, though this runs only in the child.
    ::syscall(SYS_exit_group, 0);
  }
  ::close(fds[1]);
  const char* lim = std::getenv("KERASNATIVE_H5_TIMEOUT");  // seconds; for tests
  const double limit = lim ? std::atof(lim) : 60.0 + static_cast<double>(size) / 1e6, start = now_s();
  std::string got;
  bool timed_out = false;
  char buf[65536];
  for (;;) {
    const double left = limit - (now_s() - start);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // timeout: re-checked at the loop top
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF (child done or dead)
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    throw Error(where + "libhdf5 did not finish reading the file within " + std::to_string(static_cast<int>(limit)) +
                " s (it loops forever on some corrupt files); the file is corrupt");
  uint64_t len = 0;
  if (got.size() >= 8) std::memcpy(&len, got.data(), 8);
  if (got.size() < 9 || len != got.size() - 8) {
    std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                          : "exited with status " + std::to_string(WEXITSTATUS(status));
    throw Error(where + "libhdf5 crashed reading the file (the reading process " + how +
                "); the file is corrupt or not a Keras HDF5 file");
  }
  if (got[8] == 'E') throw Error(got.substr(9));
  return decode(got.substr(9));
}

#endif

}  // namespace kn
