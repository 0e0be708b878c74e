// WorkerBackend: child process management over pipes.
#include "autotune/worker_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "autotune/worker_protocol.h"
#include "core/interrupt.h"
#include "core/log.h"

namespace gqaforge::autotune {

WorkerBackend::WorkerBackend(WorkerOptions options, LocalFactory make_local)
    : options_(std::move(options)), make_local_(std::move(make_local)) {
  // A write to a worker that just died must fail with EPIPE, not kill the tuner.
  signal(SIGPIPE, SIG_IGN);
}

WorkerBackend::~WorkerBackend() {
  if (pid_ > 0) {
    const std::string quit = encode_request(WorkerRequest{"quit"}) + "\n";
    [[maybe_unused]] ssize_t n = write(to_child_, quit.data(), quit.size());
    stop(false);
  }
}

Status WorkerBackend::start() {
  if (options_.command.empty()) return invalid_argument("the worker command is empty");
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return unavailable("pipe: {}", std::strerror(errno));
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    close(in_pipe[0]);
    close(in_pipe[1]);
    return unavailable("pipe: {}", std::strerror(errno));
  }
  std::vector<char*> argv;
  for (std::string& a : options_.command) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return unavailable("fork: {}", std::strerror(errno));
  if (pid == 0) {
    // The worker must not outlive the tuner (a hung kernel would hold the GPU): the kernel
    // kills it when the forking thread's process dies, and a parent that died before prctl
    // took effect is caught by the ppid check. Ctrl-C reaches the whole process group; the
    // tuner decides what an interrupt means, so the worker ignores SIGINT.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    signal(SIGINT, SIG_IGN);
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  pid_ = pid;
  to_child_ = in_pipe[1];
  from_child_ = out_pipe[0];
  buffer_.clear();
  ++starts_;
  auto line = exchange(encode_request(WorkerRequest{"hello"}), options_.start_timeout_s);
  if (!line.ok()) {
    stop(true);
    return unavailable("the tune worker '{}' did not start: {}", options_.command[0], line.status().message());
  }
  auto resp = parse_response(*line);
  if (!resp.ok() || !resp->ok) {
    stop(true);
    return unavailable("the tune worker could not open the device: {}",
                       resp.ok() ? resp->error : resp.status().message());
  }
  if (!info_) info_ = resp->info;
  return ok_status();
}

void WorkerBackend::stop(bool kill_first) {
  if (pid_ <= 0) return;
  if (to_child_ >= 0) close(to_child_);
  if (kill_first) kill(pid_, SIGKILL);
  // A worker told to quit gets a moment to exit cleanly, then it is killed.
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) break;
    if (i == 199) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    usleep(10000);
  }
  last_wait_status_ = status;
  if (from_child_ >= 0) close(from_child_);
  pid_ = -1;
  to_child_ = from_child_ = -1;
}

std::string WorkerBackend::exit_description() {
  int status = 0;
  if (pid_ > 0 && waitpid(pid_, &status, 0) == pid_) {
    last_wait_status_ = status;
    if (from_child_ >= 0) close(from_child_);
    if (to_child_ >= 0) close(to_child_);
    pid_ = -1;
    to_child_ = from_child_ = -1;
  }
  status = last_wait_status_;
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  return "ended";
}

namespace {
Status cancelled_status() {
  return unavailable("interrupted");
}
}  // namespace

Result<std::string> WorkerBackend::exchange(const std::string& line, double timeout_s) {
  const std::string out = line + "\n";
  size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = write(to_child_, out.data() + sent, out.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return unavailable("the worker {}", exit_description());
    sent += static_cast<size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string reply = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return reply;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return resource_exhausted("no answer from the worker within {:g} s", timeout_s);
    pollfd pfd{from_child_, POLLIN, 0};
    const int r = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (interrupted()) return cancelled_status();
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(from_child_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return unavailable("the worker {}", exit_description());
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

Result<BackendInfo> WorkerBackend::info() {
  if (!info_) GQF_RETURN_IF_ERROR(start());
  if (!local_) {
    GQF_ASSIGN_OR_RETURN(local_, make_local_(*info_));
  }
  return *info_;
}

Result<std::string> WorkerBackend::kernel_key(const codegen::AttentionProblem& problem,
                                              const codegen::KernelFamily& family,
                                              const codegen::KernelConfig& config) {
  GQF_RETURN_IF_ERROR(info().status());
  return local_->kernel_key(problem, family, config);
}

std::vector<CompileResult> WorkerBackend::compile(const std::vector<Candidate>& candidates) {
  if (!local_) {
    std::vector<CompileResult> out(candidates.size());
    for (CompileResult& r : out) {
      r.status = MeasureStatus::kCompileFailed;
      r.message = "the worker backend was not started";
    }
    return out;
  }
  return local_->compile(candidates);
}

MeasureResult WorkerBackend::measure(const Candidate& candidate, const MeasureOptions& options) {
  MeasureResult result;
  if (pid_ <= 0) {
    Status s = start();
    if (!s.ok()) {
      result.interrupted = interrupted();
      result.status = MeasureStatus::kLaunchFailed;
      result.message = s.message();
      return result;
    }
  }
  WorkerRequest req;
  req.op = "measure";
  req.id = next_id_++;
  req.candidate = candidate;
  req.options = options;
  auto line = exchange(encode_request(req), options_.measure_timeout_s);
  // Interrupted (SIGINT/SIGTERM) while the worker measured: abandon the try without a verdict;
  // a worker killed by the same signal is no fault of the variant either.
  if (!line.ok() && interrupted()) {
    stop(true);
    result.interrupted = true;
    result.status = MeasureStatus::kLaunchFailed;
    result.message = "interrupted";
    return result;
  }
  if (!line.ok()) {
    if (line.status().code() == StatusCode::kResourceExhausted) {
      stop(true);
      result.status = MeasureStatus::kTimeout;
      result.message = fmt::format("{}; the worker was killed and restarted", line.status().message());
    } else {
      stop(true);
      result.status = MeasureStatus::kLaunchFailed;
      result.message = fmt::format("{} while measuring; restarted", line.status().message());
    }
    log_warn("tune worker: {} ({})", result.message, candidate.config_text());
    return result;
  }
  auto resp = parse_response(*line);
  if (!resp.ok() || !resp->ok || resp->id != req.id) {
    stop(true);
    result.status = MeasureStatus::kLaunchFailed;
    result.message = fmt::format("bad answer from the worker: {}",
                                 !resp.ok() ? resp.status().message() : (!resp->ok ? resp->error : "id mismatch"));
    return result;
  }
  if (resp->restart) stop(false);
  return resp->result;
}

}  // namespace gqaforge::autotune
