// Compile cache entries. File layout (all integers decimal ASCII):
//   line 1: "gqaforge-cubin-cache v1"
//   line 2: key
//   line 3: sha256 of the payload
//   line 4: payload size in bytes
//   payload: cubin-size "\n" cubin log-size "\n" log options-joined-size "\n" options
//            then one line per entry point: name regs smem cmem stack spill_st spill_ld
#include "runtime/compile_cache.h"

#include <sstream>

#include "core/fs.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "core/thread_pool.h"

namespace gqaforge::runtime {

using codegen::KernelSource;

namespace {

constexpr const char* kMagic = "gqaforge-cubin-cache v1";

void put_blob(std::string& out, const std::string& blob) {
  out += std::to_string(blob.size());
  out += '\n';
  out += blob;
}

bool get_blob(const std::string& in, size_t& pos, std::string& blob) {
  size_t nl = in.find('\n', pos);
  if (nl == std::string::npos) return false;
  auto size = parse_int(std::string_view(in).substr(pos, nl - pos));
  if (!size.ok() || *size < 0 || nl + 1 + static_cast<size_t>(*size) > in.size()) return false;
  blob = in.substr(nl + 1, static_cast<size_t>(*size));
  pos = nl + 1 + static_cast<size_t>(*size);
  return true;
}

}  // namespace

std::filesystem::path default_cache_dir() {
  std::string dir = env_or_empty("GQAFORGE_CACHE_DIR");
  if (!dir.empty()) return dir;
  std::string xdg = env_or_empty("XDG_CACHE_HOME");
  if (!xdg.empty()) return std::filesystem::path(xdg) / "gqaforge";
  std::string home = env_or_empty("HOME");
  if (!home.empty()) return std::filesystem::path(home) / ".cache" / "gqaforge";
  return std::filesystem::temp_directory_path() / "gqaforge-cache";
}

CompileCache::CompileCache(std::filesystem::path dir) : dir_(dir.empty() ? default_cache_dir() : std::move(dir)) {}

std::filesystem::path CompileCache::entry_path(const std::string& key) const {
  return dir_ / (key + ".cubin-entry");
}

Status CompileCache::store_entry(const CompiledKernel& k) const {
  GQF_RETURN_IF_ERROR(ensure_directory(dir_));
  std::string payload;
  put_blob(payload, k.cubin);
  put_blob(payload, k.log);
  std::string options;
  for (const std::string& o : k.options) options += o + "\n";
  put_blob(payload, options);
  for (const auto& [name, r] : k.resources) {
    payload += fmt::format("{} {} {} {} {} {} {}\n", name, r.registers, r.shared_static_bytes, r.constant_bytes,
                           r.stack_frame_bytes, r.spill_store_bytes, r.spill_load_bytes);
  }
  std::string file = fmt::format("{}\n{}\n{}\n{}\n", kMagic, k.key, sha256_hex(payload), payload.size());
  file += payload;
  return write_file_atomic(entry_path(k.key), file);
}

Result<CompiledKernel> CompileCache::load_entry(const std::string& key) const {
  auto path = entry_path(key);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found("no cache entry {}", key);
  GQF_ASSIGN_OR_RETURN(std::string file, read_file(path));
  auto bad = [&](const char* why) { return data_loss("cache entry '{}' is damaged: {}", path.string(), why); };
  size_t pos = 0;
  std::string lines[4];
  for (std::string& l : lines) {
    size_t nl = file.find('\n', pos);
    if (nl == std::string::npos) return bad("truncated header");
    l = file.substr(pos, nl - pos);
    pos = nl + 1;
  }
  if (lines[0] != kMagic) return bad("unknown format");
  if (lines[1] != key) return bad("key mismatch");
  auto size = parse_int(lines[3]);
  if (!size.ok() || static_cast<size_t>(*size) != file.size() - pos) return bad("truncated payload");
  std::string payload = file.substr(pos);
  if (sha256_hex(payload) != lines[2]) return bad("checksum mismatch");
  CompiledKernel k;
  k.key = key;
  k.cache_hit = true;
  size_t p = 0;
  std::string options;
  if (!get_blob(payload, p, k.cubin) || !get_blob(payload, p, k.log) || !get_blob(payload, p, options)) {
    return bad("malformed payload");
  }
  for (const std::string& o : split(options, '\n')) {
    if (!o.empty()) k.options.push_back(o);
  }
  std::istringstream rest(payload.substr(p));
  std::string name;
  KernelResources r;
  while (rest >> name >> r.registers >> r.shared_static_bytes >> r.constant_bytes >> r.stack_frame_bytes >>
         r.spill_store_bytes >> r.spill_load_bytes) {
    k.resources[name] = r;
  }
  if (k.cubin.empty()) return bad("empty cubin");
  return k;
}

Result<CompiledKernel> CompileCache::get_or_compile(const KernelSource& source, const CompileOptions& options) {
  std::string key = compile_key(source, options);
  Result<CompiledKernel> cached = load_entry(key);
  if (cached.ok()) {
    ++hits_;
    return cached;
  }
  if (!cached.ok() && cached.status().code() == StatusCode::kDataLoss) {
    ++corrupt_;
    log_warn("{}; rebuilding it", cached.status().message());
    std::error_code ec;
    std::filesystem::remove(entry_path(key), ec);
  }
  ++misses_;
  GQF_ASSIGN_OR_RETURN(CompiledKernel compiled, compile_nvrtc(source, options));
  Status stored = store_entry(compiled);
  if (!stored.ok()) log_warn("could not store compile cache entry: {}", stored.message());
  return compiled;
}

std::vector<Result<CompiledKernel>> CompileCache::compile_all(const std::vector<KernelSource>& sources,
                                                              const CompileOptions& options, unsigned threads,
                                                              bool show_progress) {
  std::vector<Result<CompiledKernel>> results;
  results.reserve(sources.size());
  Progress progress("compiling", static_cast<int64_t>(sources.size()), show_progress);
  ThreadPool pool(threads);
  std::vector<std::future<Result<CompiledKernel>>> futures;
  for (const KernelSource& s : sources) {
    futures.push_back(pool.submit([this, &s, &options, &progress]() {
      Result<CompiledKernel> r = get_or_compile(s, options);
      progress.advance(1, s.name);
      return r;
    }));
  }
  for (auto& f : futures) results.push_back(f.get());
  progress.finish();
  return results;
}

Result<CompileCache::DirInfo> CompileCache::info() const {
  DirInfo info;
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) return info;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    if (e.path().extension() == ".cubin-entry") {
      ++info.entries;
      info.bytes += static_cast<int64_t>(e.file_size(ec));
    }
  }
  if (ec) return unavailable("cannot list cache directory '{}': {}", dir_.string(), ec.message());
  return info;
}

Result<int64_t> CompileCache::clear() const {
  int64_t removed = 0;
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) return removed;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    if (e.path().extension() == ".cubin-entry" || name.find(".cubin-entry.tmp.") != std::string::npos) {
      if (std::filesystem::remove(e.path(), ec)) ++removed;
    }
  }
  if (ec) return unavailable("cannot clear cache directory '{}': {}", dir_.string(), ec.message());
  return removed;
}

}  // namespace gqaforge::runtime
