// Presets: the paper's predefined shapes (its aspect-ratio table) and real models' published
// dimensions, read from JSON data files (embedded at build time, or a user file).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "costmodel/model_shape.h"

namespace gqaforge::costmodel {

/// One row of the paper's aspect-ratio table (App. B.1).
struct AspectPoint {
  std::string name;   // "paper-1.8b"
  std::string label;  // "1.8B"
  double layers = 0;  // L
  double hidden = 0;  // d
  double params = 0;  // non-embedding N of the MHA SwiGLU model, 12 L d^2

  double ratio() const { return hidden / layers; }
};

/// A set of named model shapes plus the aspect table.
class Presets {
 public:
  /// The presets compiled into the binary (data/presets/*.json).
  static Result<Presets> bundled();
  /// Parses one presets document; `source` names it in errors. Merges into this set:
  /// models are appended, an aspect table replaces the current one.
  Status add_document(std::string_view text, const std::string& source);

  /// Model shapes by name (case-insensitive); not_found lists the known names.
  Result<ModelShape> find(std::string_view name) const;
  const std::vector<ModelShape>& models() const { return models_; }
  /// Aspect table sorted by params (ascending).
  const std::vector<AspectPoint>& aspect_table() const { return aspect_; }

 private:
  Status add_model(const Json& entry, const std::string& where);
  std::vector<ModelShape> models_;
  std::vector<AspectPoint> aspect_;
};

}  // namespace gqaforge::costmodel
