// Atomic writes and directory creation.
#include "core/fs.h"

#include <gtest/gtest.h>

#include <unistd.h>

namespace gqaforge {
namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("gqf_fs_{}_{}", name, getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(Fs, AtomicWriteReplacesWholeFile) {
  auto dir = temp_dir("atomic");
  ASSERT_TRUE(ensure_directory(dir).ok());
  auto file = dir / "x.txt";
  ASSERT_TRUE(write_file_atomic(file, "first version").ok());
  ASSERT_TRUE(write_file_atomic(file, "second").ok());
  EXPECT_EQ(*read_file(file), "second");
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1) << "no temp files left behind";
  std::filesystem::remove_all(dir);
}

TEST(Fs, ErrorsNameThePath) {
  Result<std::string> r = read_file("/nonexistent/gqf/file");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/gqf/file"), std::string::npos);
  auto dir = temp_dir("blocked");
  ASSERT_TRUE(ensure_directory(dir).ok());
  ASSERT_TRUE(write_file_atomic(dir / "f", "x").ok());
  Status s = ensure_directory(dir / "f");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a directory"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gqaforge
