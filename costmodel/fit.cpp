// Levenberg-Marquardt and ordinary least squares on Eigen's dense matrices.
#include "costmodel/fit.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>

namespace gqaforge::costmodel {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// The caller's residual function (std::vector at the interface) as a map of Eigen vectors.
class Residuals {
 public:
  Residuals(const ResidualFn& f, size_t m) : f_(f), out_(m) {}

  VectorXd operator()(const VectorXd& p) {
    params_.assign(p.data(), p.data() + p.size());
    f_(params_, out_);
    return Eigen::Map<const VectorXd>(out_.data(), static_cast<Eigen::Index>(out_.size()));
  }

 private:
  const ResidualFn& f_;
  std::vector<double> params_;
  std::vector<double> out_;
};

// Central differences with a step relative to each parameter's magnitude.
MatrixXd jacobian(Residuals& f, const VectorXd& p, Eigen::Index m, double rel_step) {
  MatrixXd j(m, p.size());
  VectorXd q = p;
  for (Eigen::Index c = 0; c < p.size(); ++c) {
    const double h = rel_step * std::max(1.0, std::fabs(p(c)));
    q(c) = p(c) + h;
    const VectorXd plus = f(q);
    q(c) = p(c) - h;
    const VectorXd minus = f(q);
    q(c) = p(c);
    j.col(c) = (plus - minus) / (2 * h);
  }
  return j;
}

double cost_of(const VectorXd& r) {
  return r.allFinite() ? r.squaredNorm() : std::numeric_limits<double>::infinity();
}

std::vector<double> to_vector(const VectorXd& v) {
  return {v.data(), v.data() + v.size()};
}

}  // namespace

bool linear_least_squares(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                          std::vector<double>& coefficients) {
  if (x.empty() || x.size() != y.size()) return false;
  const size_t n = x.front().size();
  MatrixXd design(static_cast<Eigen::Index>(x.size()), static_cast<Eigen::Index>(n));
  for (size_t r = 0; r < x.size(); ++r) {
    if (x[r].size() != n) return false;
    design.row(static_cast<Eigen::Index>(r)) =
        Eigen::Map<const Eigen::RowVectorXd>(x[r].data(), static_cast<Eigen::Index>(n));
  }
  const Eigen::Map<const VectorXd> target(y.data(), static_cast<Eigen::Index>(y.size()));
  // The normal equations with a tiny ridge relative to the diagonal, which keeps near-collinear
  // designs (bytes and FLOPs that grow together) solvable; Cholesky refuses the singular rest.
  MatrixXd normal = design.transpose() * design;
  normal.diagonal() *= 1.0 + 1e-12;
  const Eigen::LLT<MatrixXd> llt(normal);
  if (llt.info() != Eigen::Success) return false;
  const VectorXd c = llt.solve(design.transpose() * target);
  if (!c.allFinite()) return false;
  coefficients = to_vector(c);
  return true;
}

Result<LmResult> levenberg_marquardt(const ResidualFn& residuals, size_t num_residuals, std::vector<double> initial,
                                     const LmOptions& o) {
  const size_t n = initial.size();
  if (n == 0) return invalid_argument("nothing to fit: no parameters");
  if (num_residuals < n) {
    return invalid_argument("{} data points cannot determine {} parameters", num_residuals, n);
  }
  const auto m = static_cast<Eigen::Index>(num_residuals);
  Residuals f(residuals, num_residuals);
  VectorXd p = Eigen::Map<const VectorXd>(initial.data(), static_cast<Eigen::Index>(n));
  VectorXd r = f(p);
  if (!r.allFinite()) return invalid_argument("the model is not finite at the initial parameters");
  LmResult out;
  double cost = r.squaredNorm();
  double lambda = o.initial_damping;
  auto small_step = [&](const VectorXd& delta) {
    return delta.norm() <= o.step_tolerance * (p.norm() + o.step_tolerance);
  };
  for (int it = 0; it < o.max_iterations; ++it) {
    out.iterations = it + 1;
    const MatrixXd j = jacobian(f, p, m, o.jacobian_step);
    const MatrixXd jtj = j.transpose() * j;
    const VectorXd jtr = j.transpose() * r;
    bool improved = false;
    for (int attempt = 0; attempt < 30 && !improved; ++attempt) {
      // (J^T J + lambda diag(J^T J)) delta = -J^T r, the diagonal floored so that a parameter
      // the residuals ignore still gets damped.
      MatrixXd damped = jtj;
      damped.diagonal() += lambda * jtj.diagonal().cwiseMax(1e-30);
      const Eigen::LDLT<MatrixXd> ldlt(damped);
      const VectorXd delta = ldlt.solve(-jtr);
      if (ldlt.info() != Eigen::Success || !ldlt.isPositive() || !delta.allFinite()) {
        lambda *= 10;
        continue;
      }
      const VectorXd q = p + delta;
      const VectorXd rq = f(q);
      const double cq = cost_of(rq);
      if (cq < cost) {
        const double rel = (cost - cq) / std::max(cost, 1e-300);
        const bool converged = small_step(delta) || rel < o.cost_tolerance;
        p = q;
        r = rq;
        cost = cq;
        lambda = std::max(lambda / 10, 1e-15);
        improved = true;
        out.converged = out.converged || converged;
      } else {
        lambda *= 10;
        if (small_step(delta)) {
          out.converged = true;  // no further progress possible at this resolution
          break;
        }
      }
    }
    if (!improved || out.converged) {
      out.converged = true;
      break;
    }
  }
  out.params = to_vector(p);
  out.residuals = to_vector(r);
  out.rss = cost;
  // Covariance at the solution: s^2 (J^T J)^-1, none when J^T J is singular.
  const MatrixXd j = jacobian(f, p, m, o.jacobian_step);
  const Eigen::LLT<MatrixXd> llt(j.transpose() * j);
  const double dof = static_cast<double>(num_residuals) - static_cast<double>(n);
  const double s2 = dof > 0 ? cost / dof : std::numeric_limits<double>::quiet_NaN();
  out.std_errors.assign(n, std::numeric_limits<double>::quiet_NaN());
  if (llt.info() != Eigen::Success) return out;
  const auto size = static_cast<Eigen::Index>(n);
  const MatrixXd cov = s2 * llt.solve(MatrixXd::Identity(size, size));
  if (!cov.allFinite()) return out;
  out.covariance.assign(n, std::vector<double>(n));
  for (size_t a = 0; a < n; ++a) {
    const auto ia = static_cast<Eigen::Index>(a);
    for (size_t b = 0; b < n; ++b) out.covariance[a][b] = cov(ia, static_cast<Eigen::Index>(b));
    out.std_errors[a] = std::sqrt(std::max(0.0, cov(ia, ia)));
  }
  return out;
}

}  // namespace gqaforge::costmodel
