// The staged JIT pipeline: KernelSource -> CompiledKernel (NVRTC, through the disk cache) ->
// LoadedKernel (module + entry points in the current context). Loaded kernels are kept per
// compile key for the life of the Jit.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/compile_cache.h"
#include "runtime/handles.h"

namespace gqaforge::runtime {

struct LoadedKernel {
  CompiledKernel compiled;
  Module module;
  std::map<std::string, Function> functions;  // entry point name -> function

  Result<Function> function(const std::string& name) const;
};

class Jit {
 public:
  /// `cache` must outlive the Jit. Options' arch should match the device.
  Jit(CompileCache* cache, CompileOptions options) : cache_(cache), options_(std::move(options)) {}

  /// Compiles (or fetches from cache) and loads `source` in the current context.
  Result<const LoadedKernel*> load(const codegen::KernelSource& source);
  /// Compiles without loading (works without a GPU).
  Result<CompiledKernel> compile(const codegen::KernelSource& source) {
    return cache_->get_or_compile(source, options_);
  }

  const CompileOptions& options() const { return options_; }
  CompileCache& cache() { return *cache_; }

 private:
  CompileCache* cache_;
  CompileOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<LoadedKernel>> loaded_;
};

}  // namespace gqaforge::runtime
