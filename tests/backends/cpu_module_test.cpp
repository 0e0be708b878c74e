// Packaging: the CUDA path carries no LLVM, and a missing or foreign module is refused by name.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "backends/cpu/cpu_loader.h"
#include "cpu_test_util.h"

namespace gqaforge::cpu {
namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

TEST(CpuPackaging, TheCliLinksNoLlvm) {
  const std::string cli = std::string(GQAFORGE_BINARY_DIR) + "/tools/gqaforge";
  if (!std::filesystem::exists(cli)) GTEST_SKIP() << "no " << cli;
  const std::string needed = run("readelf -d '" + cli + "' 2>&1");
  ASSERT_NE(needed.find("NEEDED"), std::string::npos) << needed;
  EXPECT_EQ(needed.find("LLVM"), std::string::npos) << needed;
  EXPECT_EQ(needed.find("gqaforge_cpu"), std::string::npos) << needed;
}

TEST(CpuPackaging, TheModuleNeedsNoLlvmLibrary) {
#ifndef GQAFORGE_TEST_CPU_MODULE
  GTEST_SKIP() << "the CPU backend module was not built";
#else
  const std::string module = std::string(GQAFORGE_BINARY_DIR) + "/lib/libgqaforge_cpu.so";
  const std::string needed = run("readelf -d '" + module + "' 2>&1");
  ASSERT_NE(needed.find("NEEDED"), std::string::npos) << needed;
  EXPECT_EQ(needed.find("libLLVM"), std::string::npos) << needed;
  // One exported entry point, nothing of LLVM's or gqaforge's own.
  const std::string symbols = run("nm -D --defined-only '" + module + "' 2>&1");
  EXPECT_NE(symbols.find("gqaforge_cpu_jit"), std::string::npos);
  EXPECT_EQ(symbols.find("llvm"), std::string::npos);
#endif
}

TEST(CpuPackaging, BadModulePathsAreNamed) {
  // Runs in a child process: the loader keeps a loaded module for the life of the process.
  const std::string self = run("readlink /proc/" + std::to_string(::getpid()) + "/exe");
  const std::string exe = self.substr(0, self.find('\n'));
  const std::string missing = run("GQAFORGE_CPU_MODULE=/nonexistent/libgqaforge_cpu.so '" + exe +
                                  "' --gtest_filter=CpuPackaging.ChildLoadsTheModule 2>&1");
  EXPECT_NE(missing.find("/nonexistent/libgqaforge_cpu.so: not there"), std::string::npos) << missing;
  EXPECT_NE(missing.find("GQAFORGE_CPU_MODULE"), std::string::npos) << missing;
  const std::string junk = std::string(GQAFORGE_BINARY_DIR) + "/cpu-test-not-a-module.so";
  std::ofstream(junk) << "not an ELF file";
  const std::string foreign =
      run("GQAFORGE_CPU_MODULE='" + junk + "' '" + exe + "' --gtest_filter=CpuPackaging.ChildLoadsTheModule 2>&1");
  EXPECT_NE(foreign.find(junk + ": "), std::string::npos) << foreign;
  EXPECT_NE(foreign.find("could not be loaded"), std::string::npos) << foreign;
}

// Only meaningful as the child of BadModulePathsAreNamed: prints the loader's answer.
TEST(CpuPackaging, ChildLoadsTheModule) {
  auto jit = cpu_jit();
  std::printf("%s\n", jit.ok() ? ("loaded " + cpu_module_path()).c_str() : jit.status().message().c_str());
}

}  // namespace
}  // namespace gqaforge::cpu
