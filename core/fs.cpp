// File helpers.
#include "core/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gqaforge {

Result<std::string> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return failed_precondition("'{}' is a directory, not a file", path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open '{}': {}", path.string(), std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return data_loss("error reading '{}'", path.string());
  return ss.str();
}

Status write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp.{}.{}", static_cast<long>(getpid()), counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return unavailable("cannot create '{}': {}", tmp.string(), std::strerror(errno));
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return unavailable("cannot write '{}': {}", tmp.string(), std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return unavailable("cannot rename '{}' to '{}': {}", tmp.string(), path.string(), std::strerror(err));
  }
  return ok_status();
}

Status ensure_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::is_directory(dir, ec)) {
      return failed_precondition("'{}' exists and is not a directory", dir.string());
    }
    return ok_status();
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return unavailable("cannot create directory '{}': {}", dir.string(), ec.message());
  return ok_status();
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace gqaforge
