// Jit: compile through the cache, then load and resolve entry points once per key.
#include "runtime/jit.h"

namespace gqaforge::runtime {

Result<Function> LoadedKernel::function(const std::string& name) const {
  auto it = functions.find(name);
  if (it == functions.end()) return not_found("kernel has no entry point '{}'", name);
  return it->second;
}

Result<const LoadedKernel*> Jit::load(const codegen::KernelSource& source) {
  std::string key = compile_key(source, options_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = loaded_.find(key);
    if (it != loaded_.end()) return it->second.get();
  }
  GQF_ASSIGN_OR_RETURN(CompiledKernel compiled, cache_->get_or_compile(source, options_));
  auto loaded = std::make_unique<LoadedKernel>();
  GQF_ASSIGN_OR_RETURN(loaded->module, Module::load(compiled.cubin));
  for (const std::string& entry : source.entry_points) {
    GQF_ASSIGN_OR_RETURN(Function f, loaded->module.function(entry));
    loaded->functions.emplace(entry, f);
    if (compiled.resources.count(entry) == 0) {
      // No ptxas report for this entry: read what the driver knows of the loaded function.
      KernelResources r;
      GQF_ASSIGN_OR_RETURN(r.registers, f.attribute(CU_FUNC_ATTRIBUTE_NUM_REGS));
      GQF_ASSIGN_OR_RETURN(r.shared_static_bytes, f.attribute(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES));
      GQF_ASSIGN_OR_RETURN(r.constant_bytes, f.attribute(CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES));
      GQF_ASSIGN_OR_RETURN(r.stack_frame_bytes, f.attribute(CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES));
      compiled.resources[entry] = r;
    }
  }
  loaded->compiled = std::move(compiled);
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = loaded_.emplace(key, std::move(loaded));
  return it->second.get();
}

}  // namespace gqaforge::runtime
