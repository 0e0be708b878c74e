// Summary statistics of a sample of timings (or any values): what the timing protocols report.
#pragma once

#include <cstdint>
#include <vector>

namespace gqaforge {

struct SampleStats {
  int64_t count = 0;
  double median = 0;  // the middle value; the mean of the middle two for an even count
  double min = 0;
  double max = 0;
  double mean = 0;
  double stddev = 0;  // population standard deviation
};

/// The statistics of `samples` (all zero for an empty sample).
SampleStats sample_stats(std::vector<double> samples);

}  // namespace gqaforge
