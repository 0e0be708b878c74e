// The CPU module (cpu_jit.h): host detection, the -O3 pipeline, object code through the host's
// TargetMachine, ORC's LLJIT to link and run it, and the on-disk object cache. Built into
// libgqaforge_cpu.so with LLVM linked statically, so that nothing else in gqaforge needs LLVM
// and the module runs on machines without this LLVM installed.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringMap.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include "backends/cpu/cpu_jit.h"
#include "backends/cpu/ir_gen.h"
#include "core/sha256.h"
#include "core/strings.h"

namespace gqaforge::cpu {
namespace {

std::string error_text(llvm::Error e) {
  std::string out;
  llvm::handleAllErrors(std::move(e), [&](const llvm::ErrorInfoBase& info) { out += info.message(); });
  return out;
}

std::string os_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return trim(line.substr(colon + 1));
    }
  }
  return "";
}

class Jit final : public CpuJit {
 public:
  static Result<std::unique_ptr<Jit>> create() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) return unavailable("LLVM cannot target this host: {}", error_text(jtmb.takeError()));
    jtmb->setCodeGenOptLevel(llvm::CodeGenOpt::Aggressive);
    auto jit = std::make_unique<Jit>();
    auto tm = jtmb->createTargetMachine();
    if (!tm) return unavailable("LLVM target machine: {}", error_text(tm.takeError()));
    jit->tm_ = std::move(*tm);
    auto lljit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*jtmb).create();
    if (!lljit) return unavailable("ORC LLJIT: {}", error_text(lljit.takeError()));
    jit->lljit_ = std::move(*lljit);
    // libm and libc for what the code generator leaves as calls (log2f, memset).
    auto gen =
        llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(jit->lljit_->getDataLayout().getGlobalPrefix());
    if (!gen) return unavailable("ORC process symbols: {}", error_text(gen.takeError()));
    jit->lljit_->getMainJITDylib().addGenerator(std::move(*gen));
    jit->detect_host();
    return jit;
  }

  const HostCpu& host() const override { return host_; }

  Result<std::string> ir_text(const codegen::CpuKernelSpec& spec, bool optimized) override {
    GQF_RETURN_IF_ERROR(check_spec(spec));
    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> m = build(ctx, spec);
    if (optimized) optimize(*m);
    std::string out;
    llvm::raw_string_ostream os(out);
    m->print(os, nullptr);
    return os.str();
  }

  Result<CompiledCpuKernel> compile(const codegen::CpuKernelSpec& spec, const std::string& cache_dir) override {
    GQF_RETURN_IF_ERROR(check_spec(spec));
    std::lock_guard<std::mutex> lock(mutex_);
    CompiledCpuKernel out;
    out.key = object_key(spec);
    if (auto it = loaded_.find(out.key); it != loaded_.end()) {
      out.fn = it->second;
      out.cache_hit = true;
      return out;
    }
    std::filesystem::path path;
    std::unique_ptr<llvm::MemoryBuffer> object;
    if (!cache_dir.empty()) {
      path = std::filesystem::path(cache_dir) / "cpu" / (out.key + ".o");
      if (auto buf = llvm::MemoryBuffer::getFile(path.string()); buf) {
        object = std::move(*buf);
        out.cache_hit = true;
      }
    }
    if (object == nullptr) {
      const auto start = std::chrono::steady_clock::now();
      GQF_ASSIGN_OR_RETURN(object, emit_object(spec));
      out.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      if (!path.empty()) store(path, *object);
    }
    out.object_bytes = object->getBufferSize();
    if (llvm::Error e = lljit_->addObjectFile(std::move(object))) {
      return internal_error("loading the CPU kernel {}: {}", spec.text(), error_text(std::move(e)));
    }
    auto sym = lljit_->lookup(spec.symbol());
    if (!sym) return internal_error("CPU kernel {} has no symbol: {}", spec.text(), error_text(sym.takeError()));
    out.fn = reinterpret_cast<CpuKernelFn>(static_cast<uintptr_t>(sym->getAddress()));
    loaded_[out.key] = out.fn;
    return out;
  }

 private:
  void detect_host() {
    host_.llvm_cpu = llvm::sys::getHostCPUName().str();
    host_.model = os_cpu_model();
    if (host_.model.empty()) host_.model = host_.llvm_cpu;
    llvm::StringMap<bool> features;
    llvm::sys::getHostCPUFeatures(features);
    std::vector<std::string> all;
    for (const auto& f : features) {
      if (f.getValue()) all.push_back(f.getKey().str());
    }
    std::sort(all.begin(), all.end());
    host_.all_features = fmt::format("{}", fmt::join(all, ","));
    auto has = [&](const char* name) { return features.lookup(name); };
    std::vector<std::string> used;
    for (const char* f : {"avx512f", "avx2", "fma", "f16c", "avx", "sse4.1", "neon"}) {
      if (has(f)) used.push_back(f);
    }
    host_.features = fmt::format("{}", fmt::join(used, " "));
    host_.vector_floats = has("avx512f") ? 16 : (has("avx") ? 8 : 4);
    host_.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    host_.llvm_version = LLVM_VERSION_STRING;
  }

  Status check_spec(const codegen::CpuKernelSpec& spec) const {
    if (spec.vec > host_.vector_floats || spec.head_dim % spec.vec != 0 || spec.block_n % spec.vec != 0 ||
        spec.head_block < 1 || spec.block_m < 1) {
      return invalid_argument("CPU kernel spec '{}' is not valid on this host ({} fp32 lanes)", spec.text(),
                              host_.vector_floats);
    }
    return ok_status();
  }

  std::string object_key(const codegen::CpuKernelSpec& spec) const {
    return sha256_hex(fmt::format("{}\nabi {}\ngenerator {}\nllvm {}\ncpu {}\nfeatures {}\n", spec.text(),
                                  kCpuModuleAbi, GQAFORGE_CPU_GENERATOR_SHA, host_.llvm_version, host_.llvm_cpu,
                                  host_.all_features));
  }

  std::unique_ptr<llvm::Module> build(llvm::LLVMContext& ctx, const codegen::CpuKernelSpec& spec) const {
    std::unique_ptr<llvm::Module> m = generate_cpu_kernel(ctx, spec);
    m->setDataLayout(tm_->createDataLayout());
    m->setTargetTriple(tm_->getTargetTriple().str());
    for (llvm::Function& f : *m) {
      f.addFnAttr("target-cpu", tm_->getTargetCPU());
      f.addFnAttr("target-features", tm_->getTargetFeatureString());
    }
    return m;
  }

  void optimize(llvm::Module& m) const {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm_.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    mpm.run(m, mam);
  }

  Result<std::unique_ptr<llvm::MemoryBuffer>> emit_object(const codegen::CpuKernelSpec& spec) {
    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> m = build(ctx, spec);
    std::string verify;
    llvm::raw_string_ostream vs(verify);
    if (llvm::verifyModule(*m, &vs)) return internal_error("generated IR for {} is invalid: {}", spec.text(), vs.str());
    optimize(*m);
    llvm::SmallVector<char, 0> bytes;
    llvm::raw_svector_ostream os(bytes);
    llvm::legacy::PassManager pm;
    if (tm_->addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_ObjectFile)) {
      return internal_error("LLVM cannot emit object code for {}", spec.text());
    }
    pm.run(*m);
    return std::unique_ptr<llvm::MemoryBuffer>(
        llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(bytes.data(), bytes.size()), spec.symbol()));
  }

  static void store(const std::filesystem::path& path, const llvm::MemoryBuffer& object) {
    // Best effort, atomically: a cache that cannot be written costs only a recompile.
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    const std::filesystem::path tmp = path.string() + fmt::format(".tmp{}", ::getpid());
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(object.getBufferStart(), static_cast<std::streamsize>(object.getBufferSize()));
      if (!out) return;
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) std::filesystem::remove(tmp, ec);
  }

  std::unique_ptr<llvm::TargetMachine> tm_;
  std::unique_ptr<llvm::orc::LLJIT> lljit_;
  HostCpu host_;
  std::mutex mutex_;
  std::map<std::string, CpuKernelFn> loaded_;
};

}  // namespace
}  // namespace gqaforge::cpu

extern "C" __attribute__((visibility("default"))) gqaforge::cpu::CpuJit* gqaforge_cpu_jit(int abi, std::string* error) {
  using namespace gqaforge::cpu;
  if (abi != kCpuModuleAbi) {
    *error = fmt::format("the CPU module speaks ABI {}, this gqaforge {}: rebuild them together", kCpuModuleAbi, abi);
    return nullptr;
  }
  static std::mutex mutex;
  static std::unique_ptr<Jit> jit;
  std::lock_guard<std::mutex> lock(mutex);
  if (jit == nullptr) {
    auto created = Jit::create();
    if (!created.ok()) {
      *error = created.status().message();
      return nullptr;
    }
    jit = std::move(*created);
  }
  return jit.get();
}
