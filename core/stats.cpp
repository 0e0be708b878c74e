// Summary statistics (stats.h).
#include "core/stats.h"

#include <algorithm>
#include <cmath>

namespace gqaforge {

SampleStats sample_stats(std::vector<double> samples) {
  SampleStats s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  s.count = static_cast<int64_t>(n);
  s.min = samples.front();
  s.max = samples.back();
  s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  for (double x : samples) s.mean += x;
  s.mean /= static_cast<double>(n);
  double var = 0;
  for (double x : samples) var += (x - s.mean) * (x - s.mean);
  s.stddev = std::sqrt(var / static_cast<double>(n));
  return s;
}

}  // namespace gqaforge
