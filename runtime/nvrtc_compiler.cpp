// NVRTC compilation.
#include "runtime/nvrtc_compiler.h"

#include <nvrtc.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <sstream>

#include "codegen/device_limits.h"
#include "core/sha256.h"
#include "core/strings.h"

#include <fmt/ranges.h>

namespace gqaforge::runtime {

using codegen::KernelSource;

namespace {

// RAII owner of an nvrtcProgram.
class Program {
 public:
  explicit Program(nvrtcProgram p) : p_(p) {}
  ~Program() { nvrtcDestroyProgram(&p_); }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  nvrtcProgram get() const { return p_; }

 private:
  nvrtcProgram p_;
};

std::string program_log(nvrtcProgram p) {
  size_t size = 0;
  if (nvrtcGetProgramLogSize(p, &size) != NVRTC_SUCCESS || size == 0) return "";
  std::string log(size, '\0');
  nvrtcGetProgramLog(p, log.data());
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  return log;
}

}  // namespace

#define GQF_NVRTC_CHECK(call)                                                                                     \
  do {                                                                                                            \
    nvrtcResult gqf_nvrtc_result_ = (call);                                                                       \
    if (gqf_nvrtc_result_ != NVRTC_SUCCESS)                                                                       \
      return internal_error("{} failed with {} ({}:{})", #call, nvrtcGetErrorString(gqf_nvrtc_result_), __FILE__, \
                            __LINE__);                                                                            \
  } while (0)

std::vector<std::string> CompileOptions::render() const {
  std::vector<std::string> out;
  out.push_back("--gpu-architecture=" + arch);
  out.push_back("--std=" + cpp_std);
  out.push_back("--ptxas-options=-v");
  if (lineinfo) out.push_back("--generate-line-info");
  if (max_registers > 0) out.push_back(fmt::format("--maxrregcount={}", max_registers));
  out.push_back(fast_math ? "--use_fast_math" : "--fmad=true");
  for (const std::string& e : extra) out.push_back(e);
  return out;
}

std::vector<int> nvrtc_supported_archs() {
  int n = 0;
  if (nvrtcGetNumSupportedArchs(&n) != NVRTC_SUCCESS || n <= 0) return {};
  std::vector<int> archs(static_cast<size_t>(n));
  if (nvrtcGetSupportedArchs(archs.data()) != NVRTC_SUCCESS) return {};
  return archs;
}

Status check_nvrtc_arch(const std::string& arch) {
  GQF_ASSIGN_OR_RETURN(std::string a, codegen::normalize_arch(arch));
  std::string digits = a.substr(3);
  if (!digits.empty() && digits.back() == 'a') digits.pop_back();
  const int cc = std::stoi(digits);
  const std::vector<int> supported = nvrtc_supported_archs();
  if (supported.empty()) return ok_status();  // this NVRTC cannot say; compiling will
  if (std::find(supported.begin(), supported.end(), cc) != supported.end()) return ok_status();
  std::string list;
  for (int s : supported) {
    if (s < 80) continue;  // the kernels need sm_80 or newer
    if (!list.empty()) list += ", ";
    list += fmt::format("sm_{}", s);
  }
  return invalid_argument("arch '{}' is not a target of this NVRTC ({}); it compiles for {}", arch,
                          nvrtc_version_string(), list);
}

Status CompileOptions::validate() const {
  GQF_RETURN_IF_ERROR(check_nvrtc_arch(arch));
  if (max_registers != 0 && (max_registers < 16 || max_registers > 255)) {
    return invalid_argument("max registers {} must be 0 (no cap) or within 16..255", max_registers);
  }
  if (cpp_std != "c++17" && cpp_std != "c++20") {
    return invalid_argument("C++ standard '{}' is not supported (c++17 or c++20)", cpp_std);
  }
  return ok_status();
}

std::string nvrtc_version_string() {
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) return "unknown";
  return fmt::format("{}.{}", major, minor);
}

std::string compile_key(const KernelSource& source, const CompileOptions& options) {
  Sha256 h;
  auto field = [&h](std::string_view name, std::string_view value) {
    h.update(fmt::format("{}:{}\n", name, value.size()));
    h.update(value);
    h.update("\n");
  };
  field("format", "gqaforge-compile-key-v1");
  field("codegen", std::to_string(codegen::kCodegenVersion));
  field("nvrtc", nvrtc_version_string());
  for (const std::string& o : options.render()) field("option", o);
  field("source", source.code);
  for (const codegen::EmbeddedHeader& hdr : codegen::embedded_headers()) {
    field("header-name", hdr.name);
    field("header", hdr.text);
  }
  auto d = h.digest();
  return to_hex(d.data(), d.size());
}

std::map<std::string, KernelResources> parse_ptxas_info(const std::string& log) {
  std::map<std::string, KernelResources> out;
  static const std::regex kProps(R"(Function properties for (\w+))");
  static const std::regex kStack(R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex kUsed(R"(Used (\d+) registers)");
  static const std::regex kSmem(R"((\d+) bytes smem)");
  static const std::regex kCmem(R"((\d+) bytes cmem\[0\])");
  static const std::regex kEntry(R"(Compiling entry function '(\w+)')");
  std::string current;
  std::istringstream in(log);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, kEntry) || std::regex_search(line, m, kProps)) {
      current = m[1];
      out[current];
      continue;
    }
    if (current.empty()) continue;
    KernelResources& r = out[current];
    if (std::regex_search(line, m, kStack)) {
      r.stack_frame_bytes = std::stoi(m[1]);
      r.spill_store_bytes = std::stoi(m[2]);
      r.spill_load_bytes = std::stoi(m[3]);
    }
    if (std::regex_search(line, m, kUsed)) {
      r.registers = std::stoi(m[1]);
      if (std::regex_search(line, m, kSmem)) r.shared_static_bytes = std::stoi(m[1]);
      if (std::regex_search(line, m, kCmem)) r.constant_bytes = std::stoi(m[1]);
    }
  }
  return out;
}

namespace {

Result<CompiledKernel> compile_once(const KernelSource& source, const CompileOptions& options) {
  const auto& headers = codegen::embedded_headers();
  std::vector<const char*> header_texts, header_names;
  for (const codegen::EmbeddedHeader& h : headers) {
    header_texts.push_back(h.text);
    header_names.push_back(h.name);
  }
  std::string file_name = source.family + ".cu";
  nvrtcProgram raw = nullptr;
  GQF_NVRTC_CHECK(nvrtcCreateProgram(&raw, source.code.c_str(), file_name.c_str(), static_cast<int>(headers.size()),
                                     header_texts.data(), header_names.data()));
  Program program(raw);
  CompiledKernel out;
  out.options = options.render();
  std::vector<const char*> opts;
  for (const std::string& o : out.options) opts.push_back(o.c_str());

  auto start = std::chrono::steady_clock::now();
  nvrtcResult r = nvrtcCompileProgram(program.get(), static_cast<int>(opts.size()), opts.data());
  out.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  out.log = program_log(program.get());
  if (r != NVRTC_SUCCESS) {
    return invalid_argument("NVRTC failed to compile {} ({}) with options [{}]:\n{}", source.name,
                            nvrtcGetErrorString(r), fmt::join(out.options, " "), out.log);
  }
  size_t size = 0;
  GQF_NVRTC_CHECK(nvrtcGetCUBINSize(program.get(), &size));
  out.cubin.resize(size);
  GQF_NVRTC_CHECK(nvrtcGetCUBIN(program.get(), out.cubin.data()));
  out.resources = parse_ptxas_info(out.log);
  out.key = compile_key(source, options);
  return out;
}

}  // namespace

Result<CompiledKernel> compile_nvrtc(const KernelSource& source, const CompileOptions& options) {
  GQF_RETURN_IF_ERROR(options.validate());
  // The resources come from the ptxas report in the NVRTC log. On some machines the report is
  // absent for a module whose machine code the toolchain already had cached; the cubin is
  // fine then, and Jit::load fills the resources from the driver after loading it.
  return compile_once(source, options);
}

}  // namespace gqaforge::runtime
