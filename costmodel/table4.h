// The paper's Table 4 (cost-optimal (n_h, n_kv) by target loss and expected context) as data,
// and a check of how many of its 40 cells a loss model reproduces under given settings.
#pragma once

#include <functional>
#include <vector>

#include "costmodel/head_config.h"
#include "costmodel/loss_model.h"
#include "costmodel/presets.h"
#include "costmodel/search.h"

namespace gqaforge::costmodel {

/// One cell of Table 4.
struct Table4Cell {
  double target_loss = 0;
  double context = 0;
  HeadConfig expected;
};

/// The 40 cells, row by row (L* = 3.0, 2.9, ..., 2.35), T = 8K ... 128K within a row.
const std::vector<Table4Cell>& table4_cells();

struct Table4Outcome {
  Table4Cell cell;
  HeadConfig got;
  bool match = false;
  /// Objective of the expected configuration relative to the winner's, minus 1 (0 on a match):
  /// how far the paper's choice is from optimal under this model.
  double gap = 0;
  /// log(objective of the expected configuration / the best of the others): negative on a
  /// match, and by how much the cell is won or lost (the calibration's hinge).
  double margin = 0;
};

struct Table4Check {
  std::vector<Table4Outcome> cells;
  int matches = 0;
};

/// Runs the search for every cell with `base` (its target_loss and context are replaced), or
/// for the cells `include` accepts.
Result<Table4Check> check_table4(const LossModel& loss, const std::vector<AspectPoint>& table,
                                 const SearchSettings& base,
                                 const std::function<bool(const Table4Cell&)>& include = nullptr);

}  // namespace gqaforge::costmodel
