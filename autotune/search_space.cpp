// SearchSpace implementation.
#include "autotune/search_space.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <limits>
#include <set>

#include "core/strings.h"

namespace gqaforge::autotune {

int PointValues::operator[](std::string_view name) const {
  return space_.value(point_, name);
}

std::vector<int> PointValues::all() const {
  std::vector<int> out;
  out.reserve(point_.size());
  for (size_t i = 0; i < point_.size(); ++i) out.push_back(space_.params()[i].values[static_cast<size_t>(point_[i])]);
  return out;
}

void SearchSpace::add_param(std::string name, std::vector<int> values) {
  assert(!values.empty() && "a parameter needs at least one value");
  assert(param_index(name) < 0 && "parameter declared twice");
  params_.push_back({std::move(name), std::move(values)});
}

void SearchSpace::add_constraint(std::string name, std::function<bool(const PointValues&)> holds) {
  constraints_.push_back({std::move(name), std::move(holds)});
}

int SearchSpace::param_index(std::string_view name) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int64_t SearchSpace::cartesian_size() const {
  int64_t n = params_.empty() ? 0 : 1;
  for (const Param& p : params_) n *= static_cast<int64_t>(p.values.size());
  return n;
}

Point SearchSpace::point_at(int64_t index) const {
  Point point(params_.size(), 0);
  for (size_t i = params_.size(); i-- > 0;) {
    const auto radix = static_cast<int64_t>(params_[i].values.size());
    point[i] = static_cast<int>(index % radix);
    index /= radix;
  }
  return point;
}

int64_t SearchSpace::index_of(const Point& point) const {
  int64_t index = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    index = index * static_cast<int64_t>(params_[i].values.size()) + point[i];
  }
  return index;
}

int SearchSpace::value(const Point& point, std::string_view name) const {
  const int i = param_index(name);
  assert(i >= 0 && "unknown parameter name");
  return params_[static_cast<size_t>(i)].values[static_cast<size_t>(point[static_cast<size_t>(i)])];
}

std::optional<std::string> SearchSpace::violated(const Point& point) const {
  const PointValues values(*this, point);
  for (const Constraint& c : constraints_) {
    if (!c.holds(values)) return c.name;
  }
  return std::nullopt;
}

std::vector<Point> SearchSpace::valid_points(std::map<std::string, int64_t>* rejections) const {
  std::vector<Point> out;
  const int64_t n = cartesian_size();
  for (int64_t i = 0; i < n; ++i) {
    Point p = point_at(i);
    if (auto broken = violated(p)) {
      if (rejections != nullptr) ++(*rejections)[*broken];
      continue;
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string SearchSpace::config_text(const Point& point) const {
  std::string out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (i > 0) out += ',';
    out += params_[i].name + '=' + std::to_string(params_[i].values[static_cast<size_t>(point[i])]);
  }
  return out;
}

std::optional<Point> SearchSpace::point_from_text(const std::string& text, bool ignore_unknown) const {
  Point point(params_.size(), -1);
  for (const std::string& item : split(text, ',')) {
    const std::string kv = trim(item);
    if (kv.empty()) continue;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) return std::nullopt;
    const int i = param_index(trim(kv.substr(0, eq)));
    if (i < 0) {
      if (ignore_unknown) continue;
      return std::nullopt;
    }
    auto v = parse_int(trim(kv.substr(eq + 1)));
    if (!v.ok()) return std::nullopt;
    const auto& values = params_[static_cast<size_t>(i)].values;
    auto it = std::find(values.begin(), values.end(), static_cast<int>(*v));
    if (it == values.end()) return std::nullopt;
    point[static_cast<size_t>(i)] = static_cast<int>(it - values.begin());
  }
  for (int idx : point) {
    if (idx < 0) return std::nullopt;
  }
  return point;
}

std::optional<Point> SearchSpace::point_from_values(const std::vector<int>& values) const {
  if (values.size() != params_.size()) return std::nullopt;
  Point point(params_.size(), 0);
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& list = params_[i].values;
    auto it = std::find(list.begin(), list.end(), values[i]);
    if (it == list.end()) return std::nullopt;
    point[i] = static_cast<int>(it - list.begin());
  }
  return point;
}

std::vector<Point> neighbours(const SearchSpace& space, const std::vector<Point>& valid, const Point& point) {
  std::vector<Point> out;
  std::set<Point> seen{point};
  const size_t n_params = space.params().size();
  for (size_t p = 0; p < n_params; ++p) {
    for (int dir : {-1, +1}) {
      const int target = point[p] + dir;
      if (target < 0 || target >= static_cast<int>(space.params()[p].values.size())) continue;
      const Point* best = nullptr;
      int best_distance = std::numeric_limits<int>::max();
      for (const Point& q : valid) {
        if (q[p] != target) continue;
        int distance = 0;
        for (size_t j = 0; j < n_params; ++j) {
          if (j != p) distance += std::abs(q[j] - point[j]);
        }
        if (distance < best_distance) {
          best_distance = distance;
          best = &q;
        }
      }
      if (best != nullptr && seen.insert(*best).second) out.push_back(*best);
    }
  }
  return out;
}

}  // namespace gqaforge::autotune
