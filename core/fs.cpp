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
#include <utility>

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
  GQF_ASSIGN_OR_RETURN(AtomicFileWriter file, AtomicFileWriter::create(path));
  GQF_RETURN_IF_ERROR(file.write(content));
  return file.commit();
}

Result<AtomicFileWriter> AtomicFileWriter::create(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp.{}.{}", static_cast<long>(getpid()), counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return unavailable("cannot create '{}': {}", tmp.string(), std::strerror(errno));
  return AtomicFileWriter(path, std::move(tmp), fd);
}

Status AtomicFileWriter::write(std::string_view data) {
  if (fd_ < 0) return failed_precondition("'{}' is already finished", tmp_.string());
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd_, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      abandon();
      return unavailable("cannot write '{}': {}", tmp_.string(), std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  return ok_status();
}

Status AtomicFileWriter::commit() {
  if (fd_ < 0) return failed_precondition("'{}' is already finished", tmp_.string());
  // A full disk may only show at fsync or close; the file must not be published then.
  if (::fsync(fd_) != 0 && errno != EINVAL) {
    const int err = errno;
    abandon();
    return unavailable("cannot write '{}': {}", tmp_.string(), std::strerror(err));
  }
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    return unavailable("cannot write '{}': {}", tmp_.string(), std::strerror(err));
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    return unavailable("cannot rename '{}' to '{}': {}", tmp_.string(), path_.string(), std::strerror(err));
  }
  return ok_status();
}

void AtomicFileWriter::abandon() {
  if (fd_ < 0) return;
  ::close(std::exchange(fd_, -1));
  ::unlink(tmp_.c_str());
}

AtomicFileWriter::~AtomicFileWriter() {
  abandon();
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)), tmp_(std::move(other.tmp_)), fd_(std::exchange(other.fd_, -1)) {}

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
