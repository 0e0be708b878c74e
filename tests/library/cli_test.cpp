// `gqaforge library` end to end: build from the bundled export, info, verify, diff, select,
// and bad input (exit status 2 naming the value, 1 for failures; no file left by a failed build).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

CliRun gqaforge(const std::string& args) {
  const std::string cmd = fmt::format("GQAFORGE_CACHE_DIR={}/library-test-cache {}/tools/gqaforge {} 2>&1",
                                      GQAFORGE_BINARY_DIR, GQAFORGE_BINARY_DIR, args);
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) r.output += buf.data();
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

class LibraryCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / fmt::format("gqf-library-cli-{}", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    lib_ = (dir_ / "small.gqalib").string();
    const CliRun r =
        gqaforge(fmt::format("library build --db {}/tests/data/h200-sample.tsv --heads 8:1 --head-dim 64 "
                             "--cover decode/12:4/d128 --allow-older-codegen -o {}",
                             GQAFORGE_SOURCE_DIR, lib_));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string db() { return std::string(GQAFORGE_SOURCE_DIR) + "/tests/data/h200-sample.tsv"; }
  static fs::path dir_;
  static std::string lib_;
};
fs::path LibraryCli::dir_;
std::string LibraryCli::lib_;

void expect_usage_error(const std::string& args, const std::string& named) {
  const CliRun r = gqaforge(args);
  EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(named), std::string::npos) << args << " should name '" << named << "':\n" << r.output;
  EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
}

TEST_F(LibraryCli, InfoShowsTheManifestAndTheDispatchTable) {
  CliRun r = gqaforge("library info " + lib_);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* text : {"format 1", "NVIDIA H200", "sm_90a", "decode 8:1 d64 bf16 causal q1", "65537-262144",
                           "prefill 8:1 d64 bf16 causal", "decode 12:4 d128 bf16 causal q1", "default, NVRTC"}) {
    EXPECT_NE(r.output.find(text), std::string::npos) << text << "\n" << r.output;
  }
  r = gqaforge("library info --json " + lib_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"schema_version\": 1"), std::string::npos);
  EXPECT_NE(r.output.find("\"codegen_fingerprint\""), std::string::npos);
  EXPECT_NE(r.output.find("\"sha256\""), std::string::npos);
}

TEST_F(LibraryCli, VerifyAndDiff) {
  CliRun r = gqaforge("library verify --arch sm_90a " + lib_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("match their sha256"), std::string::npos) << r.output;
  r = gqaforge("library verify --arch sm_80 " + lib_);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("not for this device's sm_80"), std::string::npos) << r.output;
  r = gqaforge(fmt::format("library diff {} {}", lib_, lib_));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("same dispatch"), std::string::npos) << r.output;
  const std::string other = (dir_ / "prefill.gqalib").string();
  r = gqaforge(
      fmt::format("library build --db {} --heads 8:1 --head-dim 64 --phase prefill --allow-older-codegen -o {} --json",
                  db(), other));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"tuned_classes\": 1"), std::string::npos) << r.output;
  r = gqaforge(fmt::format("library diff --json {} {}", lib_, other));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"same_dispatch\": false"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"only in A\""), std::string::npos) << r.output;
}

TEST_F(LibraryCli, SelectSaysWhy) {
  CliRun r = gqaforge(fmt::format("library select {} --phase decode --heads 8:1 --head-dim 64 --kv-len 4k", lib_));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("decision  exact"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cubin     sm_90a"), std::string::npos) << r.output;
  r = gqaforge(
      fmt::format("library select {} --phase decode --heads 8:1 --head-dim 64 --batch 3 --kv-len 50000", lib_));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("decision  nearest"), std::string::npos) << r.output;
  r = gqaforge(fmt::format("library select {} --phase decode --heads 12:4 --json", lib_));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"decision\": \"default\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"compile\": \"nvrtc\""), std::string::npos) << r.output;
  r = gqaforge(fmt::format("library select {} --phase decode --heads 12:4 --no-jit", lib_));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("JIT compilation is forbidden"), std::string::npos) << r.output;
}

TEST_F(LibraryCli, HelpForEverySubcommand) {
  for (const char* sub : {"", " build", " info", " verify", " diff", " select"}) {
    const CliRun r = gqaforge(fmt::format("library{} --help", sub));
    EXPECT_EQ(r.status, 0) << sub << "\n" << r.output;
    EXPECT_NE(r.output.find("usage: gqaforge"), std::string::npos) << sub << "\n" << r.output;
  }
}

TEST_F(LibraryCli, BadInput) {
  const std::string out = (dir_ / "bad.gqalib").string();
  expect_usage_error("library", "missing subcommand");
  expect_usage_error("library frob", "frob");
  expect_usage_error(fmt::format("library build --db {} -o {} --arch sm_99z", db(), out), "sm_99z");
  expect_usage_error(fmt::format("library build --db {} -o {} --cover decode/32:7/d128", db(), out), "32:7");
  expect_usage_error(fmt::format("library build --db {} -o {} --heads 32", db(), out), "'32'");
  expect_usage_error(fmt::format("library build --db {} -o {} --phase train", db(), out), "train");
  expect_usage_error(fmt::format("library build --db {}", db()), "--output");
  expect_usage_error(fmt::format("library select {} --head-dim 80", lib_), "80");
  expect_usage_error("library verify " + db(), "not a gqaforge library");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(LibraryCli, FailuresLeaveNoFile) {
  const std::string out = (dir_ / "failed.gqalib").string();
  CliRun r = gqaforge(fmt::format("library build --db {}/absent.sqlite -o {}", dir_.string(), out));
  EXPECT_EQ(r.status, 1) << r.output;
  r = gqaforge(fmt::format("library build --db {} --env nope -o {}", db(), out));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("'nope'"), std::string::npos) << r.output;
  r = gqaforge(fmt::format("library build --db {} --heads 7:7 -o {}", db(), out));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
  r = gqaforge(fmt::format("library info {}/absent.gqalib", dir_.string()));
  EXPECT_EQ(r.status, 1) << r.output;
  // A damaged cubin: verify names it and fails.
  const std::string damaged = (dir_ / "damaged.gqalib").string();
  fs::copy_file(lib_, damaged, fs::copy_options::overwrite_existing);
  const std::string sql = fmt::format(
      "sqlite3 {} \"UPDATE images SET image = CAST(zeroblob(length(image)) AS BLOB) "
      "WHERE rowid = 1\" 2>&1",
      damaged);
  if (std::system(sql.c_str()) == 0) {
    r = gqaforge("library verify " + damaged);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("FAILED"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("damaged"), std::string::npos) << r.output;
  }
}

}  // namespace
