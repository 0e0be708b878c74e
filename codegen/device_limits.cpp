// DeviceLimits for named targets.
#include "codegen/device_limits.h"

#include "core/strings.h"

namespace gqaforge::codegen {

Result<std::string> normalize_arch(const std::string& arch) {
  std::string a = to_lower(trim(arch));
  if (!starts_with(a, "sm_")) {
    return invalid_argument("arch '{}' is not a target like sm_90a or sm_80", arch);
  }
  std::string digits = a.substr(3);
  bool arch_specific = !digits.empty() && digits.back() == 'a';
  if (arch_specific) digits.pop_back();
  auto v = parse_int(digits);
  if (!v.ok() || digits.size() < 2 || *v < 75 || *v > 121) {
    return invalid_argument("arch '{}' is not a supported target (sm_75 .. sm_120, e.g. sm_90a)", arch);
  }
  if (*v < 80) {
    return invalid_argument("arch '{}' is too old: the kernels need bf16 tensor cores (sm_80 or newer)", arch);
  }
  return a;
}

Result<DeviceLimits> DeviceLimits::for_arch(const std::string& arch) {
  GQF_ASSIGN_OR_RETURN(std::string a, normalize_arch(arch));
  int cc = std::stoi(a.substr(3, a.size() - 3 - (a.back() == 'a' ? 1 : 0)));
  DeviceLimits l;
  l.cc_major = cc / 10;
  l.cc_minor = cc % 10;
  l.has_wgmma = cc == 90 && a.back() == 'a';
  switch (cc) {
    case 80:
      l.sm_count = 108;
      l.max_shared_per_block_optin = 166912;
      l.max_shared_per_sm = 167936;
      l.l2_bytes = 40 << 20;
      break;
    case 86:
    case 89:
      l.sm_count = cc == 86 ? 84 : 128;
      l.max_shared_per_block_optin = 101376;
      l.max_shared_per_sm = 102400;
      l.max_threads_per_sm = 1536;
      l.l2_bytes = cc == 86 ? 6 << 20 : 72 << 20;
      break;
    default:  // Hopper and newer data-centre parts.
      break;
  }
  return l;
}

}  // namespace gqaforge::codegen
