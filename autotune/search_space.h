// SearchSpace: named tunable parameters, each with an ordered list of values, and named
// constraints over them (CLTune/KTT style). A point holds one value index per parameter, so
// "adjacent value" is well defined for hill climbing, and a point that breaks a rule can say
// which rule.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace gqaforge::autotune {

/// One value index per parameter of a SearchSpace, in declaration order.
using Point = std::vector<int>;

class SearchSpace;

/// Read access to a point's parameter values by name (what constraints see).
class PointValues {
 public:
  PointValues(const SearchSpace& space, const Point& point) : space_(space), point_(point) {}
  /// Value of parameter `name`; asking for an undeclared name is a programmer error.
  int operator[](std::string_view name) const;
  /// Every parameter's value, in declaration order.
  std::vector<int> all() const;

 private:
  const SearchSpace& space_;
  const Point& point_;
};

/// A tunable parameter and its candidate values (ordered: neighbours are adjacent entries).
struct Param {
  std::string name;
  std::vector<int> values;
};

/// A named rule every valid point satisfies.
struct Constraint {
  std::string name;
  std::function<bool(const PointValues&)> holds;
};

class SearchSpace {
 public:
  /// Declares a parameter; `values` must be non-empty and the name new (asserted).
  void add_param(std::string name, std::vector<int> values);
  /// Declares a named constraint.
  void add_constraint(std::string name, std::function<bool(const PointValues&)> holds);

  const std::vector<Param>& params() const { return params_; }
  const std::vector<Constraint>& constraints() const { return constraints_; }
  /// Index of parameter `name`, or -1.
  int param_index(std::string_view name) const;

  /// Number of points of the Cartesian product (valid or not).
  int64_t cartesian_size() const;
  /// The `index`-th point of the product (mixed radix, last parameter fastest).
  Point point_at(int64_t index) const;
  /// Inverse of point_at.
  int64_t index_of(const Point& point) const;
  /// Value of parameter `name` at `point`.
  int value(const Point& point, std::string_view name) const;

  /// Name of the first constraint `point` breaks, or nullopt when it is valid.
  std::optional<std::string> violated(const Point& point) const;
  bool valid(const Point& point) const { return !violated(point).has_value(); }

  /// Every valid point in product order. When `rejections` is given it receives, per
  /// constraint name, how many points were rejected by it (first broken rule counts).
  std::vector<Point> valid_points(std::map<std::string, int64_t>* rejections = nullptr) const;

  /// "name=value,..." in declaration order.
  std::string config_text(const Point& point) const;
  /// Parses "name=value,..." (every parameter, any order) back to a point; nullopt when a
  /// name is missing or unknown or a value is not in its list. Unknown keys are ignored when
  /// `ignore_unknown` is set.
  std::optional<Point> point_from_text(const std::string& text, bool ignore_unknown = false) const;
  /// The point of one value per parameter (declaration order); nullopt when the count differs
  /// or a value is not in its list.
  std::optional<Point> point_from_values(const std::vector<int>& values) const;

 private:
  std::vector<Param> params_;
  std::vector<Constraint> constraints_;
};

/// The neighbourhood used by hill climbing: for each parameter and each direction, the valid
/// point that sets that parameter to its adjacent value and otherwise stays nearest to `point`
/// (fewest index steps over the other parameters; ties broken by `valid` order). `valid` is
/// the set the neighbours are drawn from. Duplicates are removed; `point` itself is excluded.
std::vector<Point> neighbours(const SearchSpace& space, const std::vector<Point>& valid, const Point& point);

}  // namespace gqaforge::autotune
