// The worker protocol (encoding, parsing, malformed input), the worker loop on string streams,
// and the WorkerBackend against a real `gqaforge tune-worker` child that crashes and hangs.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "autotune/synthetic_backend.h"
#include "autotune/tuner.h"
#include "autotune/worker_backend.h"
#include "autotune/worker_protocol.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {
namespace {

const std::string kBinary = GQAFORGE_BINARY_DIR "/tools/gqaforge";

Candidate sample_candidate() {
  Candidate c;
  c.problem = testing::decode_problem(16, 2, 64, 3, 1000);
  c.family = &family_for(codegen::Phase::kDecode);
  codegen::DecodeConfig config;
  config.num_splits = 7;
  c.config = config;
  c.kernel_key = "abc123";
  return c;
}

TEST(WorkerProtocol, RequestsRoundTrip) {
  WorkerRequest r;
  r.op = "measure";
  r.id = 42;
  r.candidate = sample_candidate();
  r.options.seed = 0xfedcba9876543210ULL;  // above 2^53: travels as text
  r.options.repetitions = 7;
  r.options.min_rep_ms = 1.5;
  const std::string line = encode_request(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto back = parse_request(line);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->op, "measure");
  EXPECT_EQ(back->id, 42);
  EXPECT_EQ(back->candidate.problem.name(), r.candidate.problem.name());
  EXPECT_EQ(back->candidate.family, r.candidate.family);
  EXPECT_EQ(back->candidate.config, r.candidate.config);
  EXPECT_EQ(back->candidate.kernel_key, "abc123");
  EXPECT_EQ(back->options.seed, r.options.seed);
  EXPECT_EQ(back->options.repetitions, 7);
  EXPECT_EQ(back->options.min_rep_ms, 1.5);
  EXPECT_EQ(parse_request(encode_request(WorkerRequest{"hello"}))->op, "hello");
}

TEST(WorkerProtocol, ResponsesRoundTrip) {
  WorkerResponse r;
  r.op = "measure";
  r.id = 9;
  r.result.status = MeasureStatus::kWrongResult;
  r.result.message = "gate failed \"quoted\"";
  r.result.max_error = 0.5;
  r.result.error_bound = 0.01;
  r.restart = true;
  auto back = parse_response(encode_response(r));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->id, 9);
  EXPECT_EQ(back->result.status, MeasureStatus::kWrongResult);
  EXPECT_EQ(back->result.message, r.result.message);
  EXPECT_TRUE(back->restart);

  WorkerResponse hello;
  hello.op = "hello";
  auto info = SyntheticBackend().info();
  hello.info = *info;
  auto h = parse_response(encode_response(hello));
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(h->info.environment.key(), info->environment.key());
  EXPECT_EQ(h->info.limits.max_shared_per_block_optin, info->limits.max_shared_per_block_optin);
  EXPECT_EQ(h->info.arch, "sm_90a");
}

TEST(WorkerProtocol, MalformedLinesGiveClearErrors) {
  struct Case {
    const char* line;
    const char* needle;
  };
  const Case cases[] = {
      {"not json", "line 1"},
      {"[1,2]", "not a JSON object"},
      {R"({"op":"dance"})", "'dance'"},
      {R"({"op":"measure","id":1})", "family"},
      {R"({"op":"measure","id":1,"family":"sideways"})", "unknown kernel family 'sideways'"},
      {R"({"op":"measure","id":1,"family":"decode","problem":{"phase":"decode","n_q_heads":8,"n_kv_heads":1,"head_dim":128,"dtype":"bf16","causal":true,"batch":1,"q_len":1,"kv_len":64},"config":"warps=x","kernel_key":"","seed":"1","repetitions":0,"min_rep_ms":0})",
       "decode config warps='x' is not an integer"},
      {R"({"op":"measure","id":1,"family":"decode","problem":{"phase":"decode"},"config":"","kernel_key":"","seed":"1","repetitions":0,"min_rep_ms":0})",
       "n_q_heads"},
  };
  for (const Case& c : cases) {
    auto r = parse_request(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status().message();
  }
  EXPECT_FALSE(parse_response(R"({"ok":true,"op":"measure","restart":false})").ok());
  EXPECT_FALSE(parse_response(R"({"ok":true,"op":"measure","restart":false,"id":1,"status":"great"})").ok());
}

TEST(WorkerProtocol, ServeAnswersEachLineAndStopsAtQuit) {
  SyntheticBackend backend;
  WorkerRequest m;
  m.op = "measure";
  m.id = 5;
  m.candidate = sample_candidate();
  std::istringstream in(encode_request(WorkerRequest{"hello"}) + "\n" + "garbage\n" + encode_request(m) + "\n" +
                        encode_request(WorkerRequest{"quit"}) + "\n" + encode_request(m) + "\n");
  std::ostringstream out;
  EXPECT_EQ(serve_worker(backend, in, out), 0);
  std::istringstream lines(out.str());
  std::string line;
  std::vector<WorkerResponse> answers;
  while (std::getline(lines, line)) {
    auto r = parse_response(line);
    ASSERT_TRUE(r.ok()) << line;
    answers.push_back(*r);
  }
  ASSERT_EQ(answers.size(), 3u);  // nothing after quit
  EXPECT_EQ(answers[0].op, "hello");
  EXPECT_FALSE(answers[1].ok);
  EXPECT_EQ(answers[2].id, 5);
  EXPECT_EQ(answers[2].result.status, MeasureStatus::kOk);
  EXPECT_GT(answers[2].result.median_us, 0);
}

WorkerOptions synthetic_worker(const std::string& faults, double timeout_s) {
  WorkerOptions w;
  w.command = {kBinary, "tune-worker", "--backend", "synthetic", "--seed", "1", "--real-faults"};
  if (!faults.empty()) {
    w.command.push_back("--synthetic-faults");
    w.command.push_back(faults);
  }
  w.measure_timeout_s = timeout_s;
  w.start_timeout_s = 30;
  return w;
}

TEST(WorkerBackend, CrashesAndHangsBecomeStatusesAndTheSweepContinues) {
  ASSERT_TRUE(std::filesystem::exists(kBinary)) << kBinary << " was not built";
  SyntheticOptions so;
  so.fault_rates = {{MeasureStatus::kLaunchFailed, 0.06}, {MeasureStatus::kTimeout, 0.03}};
  auto local = [so](const BackendInfo&) -> Result<std::unique_ptr<Backend>> {
    return std::unique_ptr<Backend>(new SyntheticBackend(so));
  };
  WorkerBackend backend(synthetic_worker(format_fault_rates(so.fault_rates), 1.0), local);
  testing::MemorySink sink;
  TuneOptions o;
  o.strategy = "random";
  o.budget = 60;
  o.show_progress = false;
  auto report = Tuner(backend, sink, o).run({testing::decode_problem(32, 8, 128, 1, 8192)});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  // The reference: the same backend in process says which variants crash or hang.
  SyntheticBackend reference(so);
  int64_t crashes = 0, hangs = 0;
  for (const MeasurementRecord& r : sink.rows) {
    const MeasureStatus expected = reference.fault_of(testing::decode_problem(32, 8, 128, 1, 8192), r.config);
    EXPECT_EQ(r.status, expected) << r.config << ": " << r.message;
    if (r.status == MeasureStatus::kLaunchFailed) {
      ++crashes;
      EXPECT_NE(r.message.find("signal"), std::string::npos) << r.message;
    }
    if (r.status == MeasureStatus::kTimeout) {
      ++hangs;
      EXPECT_NE(r.message.find("killed and restarted"), std::string::npos) << r.message;
    }
  }
  EXPECT_GT(crashes, 0);
  EXPECT_GT(hangs, 0);
  EXPECT_EQ(backend.starts(), 1 + crashes + hangs);
  EXPECT_GT(sink.count(MeasureStatus::kOk), 0);
  ASSERT_TRUE(report->problems[0].best.has_value());
}

TEST(WorkerBackend, AMissingWorkerBinaryIsAClearError) {
  WorkerOptions w;
  w.command = {"/nonexistent/gqaforge", "tune-worker"};
  w.start_timeout_s = 5;
  WorkerBackend backend(w, [](const BackendInfo&) -> Result<std::unique_ptr<Backend>> {
    return std::unique_ptr<Backend>(new SyntheticBackend());
  });
  auto info = backend.info();
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("/nonexistent/gqaforge"), std::string::npos) << info.status().message();
  EXPECT_NE(info.status().message().find("127"), std::string::npos) << info.status().message();
}

}  // namespace
}  // namespace gqaforge::autotune
