// The cost, fit and search subcommands end to end through the built binary: good runs exit 0,
// bad input exits 2 with a message naming the bad value.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "core/json.h"
#include "core/strings.h"

namespace {

using namespace gqaforge;

struct CliRun {
  int code = -1;
  std::string output;  // stdout and stderr
};

CliRun run(const std::string& args) {
  std::string cmd = std::string(GQAFORGE_BINARY_DIR "/tools/gqaforge ") + args + " 2>&1";
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) r.output.append(buf, n);
  int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(GQAFORGE_BINARY_DIR "/tools/gqaforge")) GTEST_SKIP() << "gqaforge binary not built";
    dir_ = std::filesystem::temp_directory_path() / ("gqaforge_cli_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  std::filesystem::path dir_;
};

TEST_F(Cli, CostOfAPresetAndOfExplicitDims) {
  CliRun r = run("cost --model llama-3.2-1b --context 128k");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("973146112"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("17.2 G"), std::string::npos) << r.output;  // 4 T L d_h n_h
  CliRun e = run(
      "cost --layers 16 --hidden 2048 --heads 32:8 --head-dim 64 --ffn 8192 --vocab 128256 --context 131072 --json");
  EXPECT_EQ(e.code, 0) << e.output;
  EXPECT_NE(e.output.find("\"non_embedding\": 973146112"), std::string::npos) << e.output;
  EXPECT_NE(e.output.find("\"flops_variant\": 17179869184"), std::string::npos) << e.output;
}

TEST_F(Cli, CostBadInputExits2) {
  CliRun r = run("cost --model llama-3.2-1b --context abc");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--context: 'abc'"), std::string::npos) << r.output;
  r = run("cost --model nosuch");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("unknown model preset 'nosuch'"), std::string::npos) << r.output;
  r = run("cost --layers 16 --hidden 2048 --heads 32:5");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("'32:5'"), std::string::npos) << r.output;
  r = run("cost --layers 16 --hidden 2048");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("missing --heads"), std::string::npos) << r.output;
}

TEST_F(Cli, FitWritesALossModelTheSearchReads) {
  std::string csv = "n_h,n_kv,N,loss\n";
  const double truth[2][3] = {{8, 2.0e8, 0.40}, {32, 1.0e8, 0.45}};
  for (const auto& t : truth) {
    int kv = t[0] == 8 ? 1 : 8;
    for (double n = 5e7; n < 1e10; n *= 2.5) {
      csv += std::to_string(static_cast<int>(t[0])) + "," + std::to_string(kv) + "," + std::to_string(n) + "," +
             std::to_string(std::pow(t[1] / n, t[2]) + 2.0) + "\n";
    }
  }
  std::string in = write("runs.csv", csv);
  std::string out = (dir_ / "model.json").string();
  CliRun f = run("fit " + in + " -o " + out);
  EXPECT_EQ(f.code, 0) << f.output;
  EXPECT_NE(f.output.find("overall R^2 = 1.0"), std::string::npos) << f.output;
  ASSERT_TRUE(std::filesystem::exists(out));
  CliRun s = run("search --target-loss 2.6 --context 32k --loss-model " + out);
  EXPECT_EQ(s.code, 0) << s.output;
  EXPECT_NE(s.output.find("best:"), std::string::npos);
  // 19 configurations have no law: one summary line, not 19.
  EXPECT_NE(s.output.find("skipped: 19 of 21 head configurations have no law in the loss model (it has (8,1) (32,8))"),
            std::string::npos)
      << s.output;
  size_t lines = 0;
  for (size_t pos = s.output.find("skipped:"); pos != std::string::npos; pos = s.output.find("skipped:", pos + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << s.output;
  // Under the analytical z objective nothing measured is used: no extrapolation warning.
  EXPECT_EQ(s.output.find("warning: measured costs"), std::string::npos) << s.output;
}

TEST_F(Cli, FitBadInputExits2AndWritesNothing) {
  std::string in = write("bad.csv", "n_h,n_kv,N,loss\n8,1,1e8,3.0\n8,1,oops,2.9\n");
  std::string out = (dir_ / "never.json").string();
  CliRun f = run("fit " + in + " -o " + out);
  EXPECT_EQ(f.code, 2);
  EXPECT_NE(f.output.find("bad.csv:3: N 'oops'"), std::string::npos) << f.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  CliRun missing = run("fit " + (dir_ / "absent.csv").string());
  EXPECT_NE(missing.code, 0);
  EXPECT_EQ(run("fit " + in + " --form spline").code, 2);
}

TEST_F(Cli, SearchRunsOnTheBundledDefaults) {
  std::string report = (dir_ / "r.html").string();
  CliRun s = run("search --target-loss 2.615 --context 128k --top 5 --report " + report);
  EXPECT_EQ(s.code, 0) << s.output;
  EXPECT_NE(s.output.find("vs Llama-3 GQA"), std::string::npos) << s.output;
  EXPECT_TRUE(std::filesystem::exists(report));
  CliRun t = run("search --table4");
  EXPECT_EQ(t.code, 0) << t.output;
  EXPECT_NE(t.output.find("of 40 cells reproduced"), std::string::npos);
}

// Parses stdout of a --json run (stderr is not captured) and checks the common envelope.
Json json_of(const std::string& args, const std::string& command) {
  std::string cmd = std::string(GQAFORGE_BINARY_DIR "/tools/gqaforge ") + args + " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << args;
  auto doc = parse_json(out);
  EXPECT_TRUE(doc.ok()) << args << ": " << doc.status().message() << "\n" << out;
  if (!doc.ok()) return Json();
  EXPECT_EQ(dump_json(*doc, -1).rfind("{\"schema_version\":1,", 0), 0u) << "schema_version comes first";
  EXPECT_EQ(*json_int_at(*doc, "schema_version"), 1);
  EXPECT_EQ(*json_string_at(*doc, "command"), command);
  return *doc;
}

// `keys` pairs a member with the name of its JSON type ("number", "string"); null is always fine.
void expect_types(const Json& obj, const std::vector<std::pair<const char*, const char*>>& keys,
                  const std::string& where) {
  ASSERT_TRUE(obj.is_object()) << where;
  for (const auto& [key, type] : keys) {
    const Json* v = json_find(obj, key);
    ASSERT_NE(v, nullptr) << where << " lacks '" << key << "'";
    EXPECT_TRUE(v->type_name() == std::string_view(type) || v->is_null())
        << where << "." << key << " is " << v->type_name();
  }
}

TEST_F(Cli, SearchJsonFollowsTheDocumentedSchema) {
  Json doc = json_of("search --target-loss 2.615 --context 128k --top 3 --json", "search");
  expect_types(doc,
               {{"settings", "object"},
                {"measured", "boolean"},
                {"candidates", "array"},
                {"evaluated", "number"},
                {"best", "object"},
                {"baseline", "object"},
                {"reduction_vs_baseline", "object"},
                {"skipped", "array"},
                {"warnings", "array"}},
               "search");
  expect_types(doc.at("settings"),
               {{"target_loss", "number"},
                {"context", "number"},
                {"objective", "string"},
                {"batch", "number"},
                {"head_dim", "number"},
                {"max_heads", "number"},
                {"z", "object"},
                {"bytes_per_value", "number"},
                {"count_embedding", "boolean"},
                {"vocab", "number"}},
               "settings");
  expect_types(
      doc.at("settings").at("z"),
      {{"lambda", "number"}, {"alpha", "number"}, {"beta", "number"}, {"units", "string"}, {"terms", "string"}},
      "settings.z");
  EXPECT_EQ(*json_number_at(doc.at("settings"), "context"), 131072);
  const Json& cands = doc.at("candidates");
  ASSERT_EQ(cands.size(), 3u);
  for (const Json& c : cands) {
    expect_types(c,
                 {{"rank", "number"},
                  {"n_heads", "number"},
                  {"n_kv_heads", "number"},
                  {"params", "number"},
                  {"layers", "number"},
                  {"hidden", "number"},
                  {"rounded", "object"},
                  {"memory_bytes", "number"},
                  {"flops_per_token", "number"},
                  {"z", "number"},
                  {"latency", "object"},
                  {"throughput", "object"},
                  {"pareto", "boolean"}},
                 "candidate");
    expect_types(c.at("rounded"),
                 {{"layers", "number"}, {"hidden", "number"}, {"params", "number"}, {"loss", "number"}},
                 "candidate.rounded");
  }
  EXPECT_EQ(*json_int_at(cands[0], "rank"), 1);
  EXPECT_EQ(*json_int_at(doc.at("best"), "n_heads"), *json_int_at(cands[0], "n_heads"));
  EXPECT_TRUE(doc.at("baseline").at("rank").is_null());
  expect_types(doc.at("reduction_vs_baseline"),
               {{"memory", "number"}, {"flops", "number"}, {"z", "number"}, {"latency", "number"}}, "reduction");
  Json t4 = json_of("search --table4 --json", "search --table4");
  expect_types(t4, {{"cells", "array"}, {"matches", "number"}, {"total", "number"}}, "table4");
  EXPECT_EQ(t4.at("cells").size(), 40u);
  expect_types(t4.at("cells")[0],
               {{"target_loss", "number"},
                {"context", "number"},
                {"got", "object"},
                {"expected", "object"},
                {"match", "boolean"},
                {"gap", "number"}},
               "table4 cell");
}

TEST_F(Cli, SearchPrintsUnitsWithinTheWidth) {
  CliRun s = run("search --target-loss 2.615 --context 128k");
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_NE(s.output.find("context T = 128K"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("Z (dimensionless) = 0.9·M^0.5 + 0.1·C^0.3333 with M in bytes"), std::string::npos);
  EXPECT_NE(s.output.find(" GFLOP "), std::string::npos);
  EXPECT_NE(s.output.find("1.21 B"), std::string::npos);  // parameters in short-scale words
  EXPECT_NE(s.output.find(" ms"), std::string::npos);     // latency in ms, not 2087.6 (µs)
  for (const std::string& line : split(s.output, '\n')) EXPECT_LE(display_width(line), 160u) << line;
  size_t table_width = 0;
  for (const std::string& line : split(s.output, '\n')) {
    if (line.rfind("rank", 0) == 0 || line.rfind("   1  ", 0) == 0)
      table_width = std::max(table_width, display_width(line));
  }
  EXPECT_GT(table_width, 80u);
  EXPECT_LE(table_width, 120u);
  CliRun wide = run("search --target-loss 2.615 --context 128k --wide");
  EXPECT_EQ(wide.output.find("--wide shows them"), std::string::npos);
  // Table 4: columns aligned by display width around the two-byte-wider '≠'.
  CliRun t = run("search --table4");
  size_t width = 0;
  for (const std::string& line : split(t.output, '\n')) {
    if (line.size() > 4 && (line[0] == ' ' || std::isdigit(static_cast<unsigned char>(line[0]))) &&
        line.find('(') != std::string::npos && line.find("reproduced") == std::string::npos) {
      if (width == 0) width = display_width(line);
      EXPECT_EQ(display_width(line), width) << line;
    }
  }
  EXPECT_GT(width, 0u);
}

// The headline table: every accounting, the paper's numbers and the cost-only ones at the
// paper's sizes (headline_test.cpp pins them), with one reason line each.
TEST_F(Cli, SearchHeadlinePrintsEveryAccounting) {
  CliRun s = run("search --target-loss 2.615 --context 128k --headline");
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_NE(s.output.find("vs Llama-3 GQA (32,8)"), std::string::npos) << "THE baseline rule: " << s.output;
  for (const char* text : {"headline (Sec. 5.2)", "memory: non-embedding weights + KV cache",
                           "memory: weights incl. embeddings + KV cache", "memory: KV cache only",
                           "FLOPs: per token at T (eq. 3)", "FLOPs: per sequence", "paper sizes, 16 x 2048",
                           "  flops-per-sequence: ", "  memory-weights-kv: eq. 4 as printed"}) {
    EXPECT_NE(s.output.find(text), std::string::npos) << text << "\n" << s.output;
  }
  // memory weights + KV at the paper's sizes: 56.2% (aspect table), 20.6% (16 x 2048).
  EXPECT_NE(s.output.find("56.2%"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("20.6%"), std::string::npos) << s.output;
  Json doc = json_of("search --target-loss 2.615 --context 128k --headline --json", "search");
  ASSERT_NE(json_find(doc, "headline"), nullptr);
  const Json& h = doc.at("headline");
  ASSERT_EQ(h.at("comparisons").size(), 3u);
  EXPECT_EQ(*json_string_at(h.at("comparisons")[0], "key"), "search");
  expect_types(h.at("comparisons")[1],
               {{"key", "string"},
                {"context", "number"},
                {"winner", "object"},
                {"baseline", "object"},
                {"reductions", "object"}},
               "comparison");
  EXPECT_NEAR(*json_number_at(h.at("comparisons")[1].at("reductions"), "memory-weights-kv"), 0.5621, 0.001);
  ASSERT_EQ(h.at("accountings").size(), 6u);
  expect_types(
      h.at("accountings")[0],
      {{"key", "string"}, {"name", "string"}, {"paper", "number"}, {"matching_params", "number"}, {"reason", "string"}},
      "accounting");
  expect_types(doc, {{"baseline_in_candidates", "boolean"}, {"baseline_note", "string"}}, "search");
  Json plain = json_of("search --target-loss 2.615 --context 128k --json", "search");
  EXPECT_EQ(json_find(plain, "headline"), nullptr);
}

TEST_F(Cli, SearchBudgetAnswersTheInverseQuery) {
  CliRun s = run("search --target-loss 2.615 --context 128k --budget baseline");
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_NE(s.output.find("lowest loss within a budget of Z "), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("(the baseline (32,8) at L* = 2.615)"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("loss at budget"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("lower loss than the baseline (32,8) (2.6150) at the same cost (paper: (8,1), 0.117 lower)"),
            std::string::npos)
      << s.output;
  CliRun m = run("search --objective memory --budget 5GB");
  EXPECT_EQ(m.code, 0) << m.output;
  EXPECT_NE(m.output.find("budget of 5.00 GB (given)"), std::string::npos) << m.output;
  Json doc = json_of("search --target-loss 2.615 --context 128k --budget baseline --top 3 --json", "search --budget");
  expect_types(doc,
               {{"settings", "object"},
                {"budget", "object"},
                {"min_params", "number"},
                {"candidates", "array"},
                {"evaluated", "number"},
                {"baseline", "object"},
                {"baseline_at_budget", "object"},
                {"baseline_in_candidates", "boolean"},
                {"loss_gain_vs_baseline", "number"},
                {"skipped", "array"},
                {"warnings", "array"}},
               "search --budget");
  ASSERT_EQ(doc.at("candidates").size(), 3u);
  expect_types(doc.at("candidates")[0],
               {{"rank", "number"},
                {"n_heads", "number"},
                {"params", "number"},
                {"loss_at_budget", "number"},
                {"rounded", "object"},
                {"objective", "number"}},
               "budget candidate");
  EXPECT_LE(*json_number_at(doc.at("candidates")[0], "objective"), *json_number_at(doc.at("budget"), "value"));
}

TEST_F(Cli, SearchBadBudgetsExit2NamingTheValue) {
  const std::pair<const char*, const char*> cases[] = {
      {"search --budget -5", "budget '-5' must be a positive Z value"},
      {"search --budget cheap", "budget 'cheap' is neither 'baseline' nor a number"},
      {"search --objective memory --budget 4XB", "budget '4XB' is neither 'baseline' nor a number of bytes"},
      {"search --budget 1", "budget Z 1 is below the cost of every candidate's smallest model"},
      {"search --budget baseline", "--budget baseline needs --target-loss"},
      {"search --budget 5 --objective latency", "needs an analytical objective (z, memory or flops)"},
      {"search --target-loss 2.615 --budget baseline --headline", "--budget cannot be combined with --headline"},
  };
  for (const auto& [args, message] : cases) {
    CliRun r = run(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  }
}

TEST_F(Cli, SearchFlagsABaselineOutsideTheCandidates) {
  CliRun r = run("search --target-loss 2.615 --context 128k --baseline 48:8");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("note: baseline (48,8) is not among the candidates: n_h = 48 is not a power of two"),
            std::string::npos)
      << r.output;
  Json doc = json_of("search --target-loss 2.615 --context 128k --baseline 48:8 --json", "search");
  EXPECT_FALSE(doc.at("baseline_in_candidates").get<bool>());
}

// Training FLOPs at the mean context T/2 (eq. 10): 6 D (N + 2 L (T/2) d_h n_h).
TEST_F(Cli, CostTrainingUsesTheMeanContext) {
  CliRun r = run("cost --model llama-3.2-1b --context 128k --train-tokens 1e11");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("mean context T̄ = T/2 = 64K"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3.16 ZFLOP"), std::string::npos) << r.output;     // 6e11 * (973146112 + 4294967296)
  EXPECT_NE(r.output.find("8.19 B values"), std::string::npos) << r.output;  // 4N + T d L
  Json doc = json_of("cost --model llama-3.2-1b --context 128k --train-tokens 1e11 --json", "cost");
  EXPECT_DOUBLE_EQ(*json_number_at(doc.at("training"), "flops"), 6e11 * (973146112.0 + 2.0 * 16 * 65536 * 64 * 32));
  EXPECT_DOUBLE_EQ(*json_number_at(doc.at("training"), "mean_context"), 65536);
}

TEST_F(Cli, SearchRefusesSettingsWithoutKernelsOrCandidates) {
  CliRun d = run("search --target-loss 2.615 --head-dim 100");
  EXPECT_EQ(d.code, 2) << d.output;
  EXPECT_NE(d.output.find("head dim 100 has no kernel"), std::string::npos) << d.output;
  CliRun m = run("search --target-loss 2.615 --max-heads 33");
  EXPECT_EQ(m.code, 2) << m.output;
  EXPECT_NE(m.output.find("max heads 33 must be a power of two"), std::string::npos) << m.output;
  CliRun c = run("search --target-loss 2.615 --context 1e6");
  EXPECT_EQ(c.code, 0) << c.output;
  EXPECT_NE(c.output.find("context T = 1000000"), std::string::npos) << c.output;
  CliRun bad = run("search --target-loss 2.615 --context 1.5e0");
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("1e6"), std::string::npos) << "the error shows the accepted forms: " << bad.output;
}

TEST_F(Cli, SearchBadInputExits2) {
  CliRun r = run("search --target-loss 1.0 --context 128k");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("target loss 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("irreducible loss E = "), std::string::npos) << r.output;
  EXPECT_EQ(run("search --context 128k").code, 2);
  CliRun o = run("search --target-loss 2.6 --objective speed");
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.output.find("'speed'"), std::string::npos);
  EXPECT_EQ(run("search --target-loss 2.6 --context -5").code, 2);
  EXPECT_EQ(run("search --target-loss 2.6 --lambda 2").code, 2);
  std::string bad = write("bad.json", "{\"format\": \"gqaforge-loss-model\", \"version\": 1, \"form\": 3}");
  CliRun m = run("search --target-loss 2.6 --loss-model " + bad);
  EXPECT_EQ(m.code, 2);
  EXPECT_NE(m.output.find("key 'form' is a number, expected a string"), std::string::npos) << m.output;
}

// A loss model of two laws, (32,8) and (16,2), so that the measured searches below do not rest on
// the bundled loss model's numbers.
const char* kTwoLawModel = R"({"format": "gqaforge-loss-model", "version": 1, "description": "test", "context": 8192,
  "form": "table", "shared_E": true, "laws": [{"n_h": 32, "n_kv": 8, "a": 1e8, "b": 0.45, "E": 2.0},
  {"n_h": 16, "n_kv": 2, "a": 1.2e8, "b": 0.45, "E": 2.0}]})";

TEST_F(Cli, SearchRanksByTheMeasuredPrompt) {
  const std::string loss = " --loss-model " + write("two.json", kTwoLawModel);
  CliRun s = run("search --target-loss 2.6 --context 128k --objective prompt-latency --baseline 32:8" + loss);
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_NE(s.output.find("objective prompt-latency"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("prompt tok/s"), std::string::npos) << s.output;  // the objective's columns stay
  EXPECT_NE(s.output.find("every kernel >= 3.20 µs"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find(", prompt "), std::string::npos) << s.output;  // against the baseline
  Json doc = json_of(
      "search --target-loss 2.6 --context 32k --batch 2 --objective prompt-throughput --launch-us 0 "
      "--baseline 32:8 --top 2 --json" +
          loss,
      "search");
  EXPECT_EQ(*json_string_at(doc.at("settings"), "objective"), "prompt-throughput");
  expect_types(doc.at("measured_settings"),
               {{"launch_us", "number"}, {"max_batch", "number"}, {"gpu_memory_bytes", "number"}}, "measured_settings");
  EXPECT_EQ(*json_number_at(doc.at("measured_settings"), "launch_us"), 0);
  const Json& best = doc.at("candidates")[0];
  expect_types(best.at("prompt"),
               {{"total_us", "number"},
                {"attention_us", "number"},
                {"linear_us", "number"},
                {"elementwise_us", "number"},
                {"kernels", "number"},
                {"launch_us", "number"},
                {"launch_bound_us", "number"},
                {"extrapolated", "boolean"},
                {"notes", "array"},
                {"batch", "number"},
                {"tokens", "number"},
                {"tokens_per_s", "number"}},
               "candidate.prompt");
  EXPECT_EQ(*json_int_at(best.at("prompt"), "batch"), 2);
  EXPECT_EQ(*json_int_at(best.at("prompt"), "tokens"), 32768);
  EXPECT_EQ(*json_number_at(best.at("prompt"), "launch_bound_us"), 0);
  expect_types(doc.at("reduction_vs_baseline"), {{"prompt_latency", "number"}}, "reduction");
}

TEST_F(Cli, SearchThroughputShowsTheMeasuredBatchBound) {
  // Both configurations have bundled decode rows at batches 1 to 64 (d_h 64); at 32K far more
  // sequences fit.
  const std::string loss = " --loss-model " + write("two.json", kTwoLawModel);
  CliRun s = run("search --target-loss 2.6 --context 32k --objective throughput --baseline 32:8" + loss);
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_NE(s.output.find(" measured at B=64)"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("beyond its measured decode batches 1..64"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("--max-batch 64 keeps to them"), std::string::npos) << s.output;
  Json doc = json_of(
      "search --target-loss 2.6 --context 32k --objective throughput --max-batch 16 --baseline 32:8 --json" + loss,
      "search");
  for (const Json& c : doc.at("candidates")) {
    const Json& t = c.at("throughput");
    expect_types(t,
                 {{"tokens_per_s", "number"},
                  {"batch", "number"},
                  {"extrapolated", "boolean"},
                  {"measured_batches", "object"},
                  {"beyond_measured_batches", "boolean"},
                  {"note", "string"},
                  {"floor", "object"}},
                 "candidate.throughput");
    EXPECT_LE(*json_int_at(t, "batch"), 16);
  }
}

TEST_F(Cli, SearchTable5PricesThePapersModels) {
  CliRun t = run("search --table5");
  ASSERT_EQ(t.code, 0) << t.output;
  EXPECT_NE(t.output.find("ratio (8,1) / (32,8): x"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("x1.60 in the paper"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("why: "), std::string::npos) << t.output;
  Json doc = json_of("search --table5 --json", "search --table5");
  expect_types(doc,
               {{"context", "number"},
                {"batch", "number"},
                {"measured_settings", "object"},
                {"models", "array"},
                {"ratio", "number"},
                {"paper_ratio", "number"},
                {"reasons", "array"}},
               "table5");
  ASSERT_EQ(doc.at("models").size(), 2u);
  expect_types(doc.at("models")[0],
               {{"label", "string"},
                {"n_heads", "number"},
                {"n_kv_heads", "number"},
                {"layers", "number"},
                {"hidden", "number"},
                {"ffn", "number"},
                {"non_embedding_params", "number"},
                {"tokens_per_s", "number"},
                {"paper_tokens_per_s", "number"},
                {"shares", "object"},
                {"prompt", "object"}},
               "table5 model");
  EXPECT_EQ(*json_int_at(doc, "context"), 131072);
}

TEST_F(Cli, SearchBadMeasuredFlagsExit2) {
  CliRun l = run("search --target-loss 2.6 --launch-us -1");
  EXPECT_EQ(l.code, 2) << l.output;
  EXPECT_NE(l.output.find("--launch-us: '-1'"), std::string::npos) << l.output;
  CliRun a = run("search --target-loss 2.6 --launch-us fast");
  EXPECT_EQ(a.code, 2) << a.output;
  EXPECT_NE(a.output.find("'fast'"), std::string::npos) << a.output;
  CliRun m = run("search --target-loss 2.6 --max-batch 0");
  EXPECT_EQ(m.code, 2) << m.output;
  EXPECT_NE(m.output.find("--max-batch: '0'"), std::string::npos) << m.output;
  CliRun o = run("search --target-loss 2.6 --objective prompt");
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_NE(o.output.find("unknown objective 'prompt'"), std::string::npos) << o.output;
  CliRun both = run("search --table4 --table5");
  EXPECT_EQ(both.code, 2) << both.output;
  EXPECT_NE(both.output.find("--table4 and --table5"), std::string::npos) << both.output;
}

}  // namespace
