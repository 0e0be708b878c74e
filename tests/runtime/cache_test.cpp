// The persistent compile cache: hits, corrupt and truncated entries rebuilt, and two
// processes filling one directory at once.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/emitter.h"
#include "core/fs.h"
#include "runtime/compile_cache.h"

namespace gqaforge::runtime {

using codegen::KernelSource;

namespace {

// A fresh cache directory under TMPDIR, removed with everything in it when the test ends
// (also when an assertion returns early). Forked children leave with _exit and remove nothing.
class FreshDir {
 public:
  explicit FreshDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / fmt::format("gqf_cache_{}_{}", name, getpid())) {
    std::filesystem::remove_all(path_);
  }
  ~FreshDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  FreshDir(const FreshDir&) = delete;
  FreshDir& operator=(const FreshDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

KernelSource source(int hkv) {
  codegen::AttentionProblem p;
  p.phase = codegen::Phase::kPrefill;
  p.n_q_heads = 16;
  p.n_kv_heads = hkv;
  p.head_dim = 64;
  return codegen::emit_reference(p);
}

TEST(CompileCache, SecondCompileIsAHit) {
  FreshDir dir("hit");
  CompileCache cache(dir.path());
  auto first = cache.get_or_compile(source(4), CompileOptions{});
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_FALSE(first->cache_hit);
  auto second = cache.get_or_compile(source(4), CompileOptions{});
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->cache_hit);
  EXPECT_TRUE(first->cubin == second->cubin);
  EXPECT_EQ(second->resources.at("gqaforge_reference").registers, first->resources.at("gqaforge_reference").registers);
  EXPECT_EQ(cache.stats().hits, 1);
  EXPECT_EQ(cache.stats().misses, 1);
  auto info = cache.info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->entries, 1);
  EXPECT_EQ(*cache.clear(), 1);
  EXPECT_EQ(cache.info()->entries, 0);
}

TEST(CompileCache, CorruptAndTruncatedEntriesAreRebuilt) {
  FreshDir dir("corrupt");
  CompileCache cache(dir.path());
  auto first = cache.get_or_compile(source(2), CompileOptions{});
  ASSERT_TRUE(first.ok());
  auto path = cache.entry_path(first->key);
  std::string bytes = *read_file(path);
  // Flip one byte inside the cubin.
  std::string corrupted = bytes;
  corrupted[corrupted.size() / 2] ^= 0x5a;
  ASSERT_TRUE(write_file_atomic(path, corrupted).ok());
  EXPECT_EQ(cache.load_entry(first->key).status().code(), StatusCode::kDataLoss);
  auto rebuilt = cache.get_or_compile(source(2), CompileOptions{});
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_FALSE(rebuilt->cache_hit);
  EXPECT_TRUE(rebuilt->cubin == first->cubin);
  EXPECT_EQ(cache.stats().corrupt, 1);
  auto reloaded = cache.load_entry(first->key);
  ASSERT_TRUE(reloaded.ok()) << "the rebuilt entry is whole again";
  EXPECT_TRUE(reloaded->cubin == first->cubin);
  // Truncate it.
  ASSERT_TRUE(write_file_atomic(path, bytes.substr(0, bytes.size() - 100)).ok());
  EXPECT_EQ(cache.load_entry(first->key).status().code(), StatusCode::kDataLoss);
  auto again = cache.get_or_compile(source(2), CompileOptions{});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->cache_hit);
  EXPECT_EQ(cache.stats().corrupt, 2);
}

TEST(CompileCache, TwoProcessesFillOneDirectory) {
  FreshDir scratch("concurrent");
  const std::filesystem::path& dir = scratch.path();
  std::vector<KernelSource> sources = {source(1), source(2), source(4), source(8)};
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    CompileCache cache(dir);
    auto results = cache.compile_all(sources, CompileOptions{}, 1, false);
    bool ok = true;
    for (auto& r : results) ok &= r.ok();
    _exit(ok ? 0 : 1);
  }
  CompileCache cache(dir);
  std::vector<KernelSource> reversed(sources.rbegin(), sources.rend());
  auto results = cache.compile_all(reversed, CompileOptions{}, 1, false);
  for (auto& r : results) EXPECT_TRUE(r.ok());
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Every entry is present, whole, and no temp files are left.
  for (const KernelSource& s : sources) {
    auto entry = cache.load_entry(compile_key(s, CompileOptions{}));
    EXPECT_TRUE(entry.ok()) << entry.status().to_string();
  }
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 4);
}

TEST(CompileCache, TestsLeaveNoDirectoriesInTmpdir) {
  std::filesystem::path left;
  {
    FreshDir dir("cleanup");
    CompileCache cache(dir.path());
    ASSERT_TRUE(cache.get_or_compile(source(1), CompileOptions{}).ok());
    left = dir.path();
    EXPECT_TRUE(std::filesystem::exists(left));
  }
  EXPECT_FALSE(std::filesystem::exists(left));
}

TEST(CompileCache, DirectoryFromEnvironment) {
  setenv("GQAFORGE_CACHE_DIR", "/tmp/gqf-explicit", 1);
  EXPECT_EQ(default_cache_dir(), std::filesystem::path("/tmp/gqf-explicit"));
  unsetenv("GQAFORGE_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(default_cache_dir(), std::filesystem::path("/tmp/xdg/gqaforge"));
  unsetenv("XDG_CACHE_HOME");
}

}  // namespace
}  // namespace gqaforge::runtime
