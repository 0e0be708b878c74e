// The CLI as a person and a script use it: --json documents (schema_version, keys, types),
// what compile shows, the exit status of each bad input (README "Exit status"), the progress
// line of a real sweep on a 100-column pseudo-terminal, and the README's command table
// against `gqaforge --help`.
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/json.h"
#include "core/strings.h"

namespace gqaforge::tools {
namespace {

namespace fs = std::filesystem;

const std::string kBinary = GQAFORGE_BINARY_DIR "/tools/gqaforge";

struct CliResult {
  int status = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CliOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kBinary)) GTEST_SKIP() << "gqaforge binary not built";
    dir_ = fs::temp_directory_path() / ("gqaforge_cli_output_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Runs `gqaforge <args>` with stdout and stderr captured apart; `env` is prefixed.
  CliResult gqaforge(const std::string& args, const std::string& env = "") {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string cmd = fmt::format("{} GQAFORGE_CACHE_DIR='{}' '{}' {} >'{}' 2>'{}' </dev/null", env,
                                        (dir_ / "cache").string(), kBinary, args, out.string(), err.string());
    CliResult r;
    const int raw = std::system(cmd.c_str());
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
  Json json_of(const std::string& args, const std::string& command) {
    CliResult r = gqaforge(args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    auto doc = parse_json(r.out);
    EXPECT_TRUE(doc.ok()) << args << ": " << doc.status().message() << "\n" << r.out;
    if (!doc.ok()) return Json();
    EXPECT_EQ(dump_json(*doc, -1).rfind("{\"schema_version\":1,\"command\":", 0), 0u) << r.out.substr(0, 80);
    EXPECT_EQ(*json_string_at(*doc, "command"), command);
    return *doc;
  }
  std::string file(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string tune_exhaustive() {
    const std::string db = (dir_ / "exhaustive.sqlite").string();
    CliResult t = gqaforge(
        "tune --backend synthetic --quiet --phase prefill --heads 8:1 --kv-len 4k --strategy exhaustive "
        "--db " +
        db);
    EXPECT_EQ(t.status, 0) << t.err;
    return db;
  }
  fs::path dir_;
};

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

size_t widest_line(const std::string& text) {
  size_t w = 0;
  for (const std::string& line : split(text, '\n')) w = std::max(w, display_width(line));
  return w;
}

TEST_F(CliOutput, CompileJsonAndTextShowTheLaunchAndOccupancy) {
  Json doc = json_of("compile --phase decode --heads 8:1 --head-dim 128 --kv-len 128k --json", "compile");
  expect_types(doc,
               {{"kernel", "string"},
                {"family", "string"},
                {"problem", "string"},
                {"config", "string"},
                {"arch", "string"},
                {"nvrtc", "string"},
                {"key", "string"},
                {"cache_hit", "boolean"},
                {"compile_ms", "number"},
                {"cubin_bytes", "number"},
                {"output", "string"},
                {"entry_points", "array"}},
               "compile");
  const Json& entries = doc.at("entry_points");
  ASSERT_EQ(entries.size(), 2u);  // the split-KV decode and its combine kernel
  for (const Json& e : entries) {
    expect_types(e,
                 {{"name", "string"},
                  {"grid", "array"},
                  {"block", "array"},
                  {"threads", "number"},
                  {"shared_dynamic_bytes", "number"},
                  {"resources_reported", "boolean"},
                  {"registers", "number"},
                  {"spill_store_bytes", "number"},
                  {"spill_load_bytes", "number"},
                  {"stack_bytes", "number"},
                  {"shared_static_bytes", "number"},
                  {"ctas_per_sm", "number"},
                  {"occupancy_limiter", "string"}},
                 "entry point");
    EXPECT_EQ(e.at("grid").size(), 3u);
  }
  const Json& decode = entries[0];
  EXPECT_EQ(*json_string_at(decode, "name"), "gqaforge_decode");
  EXPECT_GT(*json_number_at(decode, "shared_dynamic_bytes"), 32 * 1024)
      << "the K/V stages live in dynamic shared memory";
  EXPECT_GE(*json_number_at(decode, "ctas_per_sm"), 1);
  EXPECT_GT(*json_number_at(decode, "registers"), 0);

  CliResult text = gqaforge("compile --phase prefill --heads 32:8 --head-dim 128");
  ASSERT_EQ(text.status, 0) << text.err;
  for (const char* col :
       {"grid", "threads", "regs", "spills st/ld", "smem static", "smem dynamic", "CTAs/SM", "limited by"}) {
    EXPECT_NE(text.out.find(col), std::string::npos) << col << "\n" << text.out;
  }
  EXPECT_EQ(text.out.find("smem(static)"), std::string::npos);
  EXPECT_NE(text.out.find(" kB "), std::string::npos) << "dynamic shared memory in kB:\n" << text.out;
  for (const std::string& line : split(text.out, '\n')) {
    if (line.rfind("gqaforge_prefill", 0) == 0 || line.rfind("entry point", 0) == 0) {
      EXPECT_LE(display_width(line), 120u) << line;
    }
  }
  const std::string cubin = (dir_ / "k.cubin").string();
  EXPECT_EQ(gqaforge("compile --phase decode --heads 8:1 --output " + cubin).status, 0);
  EXPECT_TRUE(fs::exists(cubin));
  EXPECT_EQ(gqaforge("compile --phase decode --heads 8:1 -o " + cubin + " --output " + cubin).status, 2);
}

TEST_F(CliOutput, DevicesJson) {
  Json doc = json_of("devices --json", "devices");
  expect_types(doc, {{"nvrtc", "string"}, {"nvrtc_targets", "array"}, {"driver_error", "string"}, {"devices", "array"}},
               "devices");
  ASSERT_GT(doc.at("nvrtc_targets").size(), 0u);
  EXPECT_TRUE(doc.at("nvrtc_targets")[0].is_string());
  if (doc.at("devices").size() == 0) {
    EXPECT_TRUE(doc.at("driver_error").is_string() || doc.at("driver_error").is_null());
    return;
  }
  for (const Json& d : doc.at("devices")) {
    expect_types(d,
                 {{"ordinal", "number"},
                  {"name", "string"},
                  {"uuid", "string"},
                  {"compute_capability", "string"},
                  {"target", "string"},
                  {"sm_count", "number"},
                  {"sm_clock_mhz", "number"},
                  {"memory_clock_mhz", "number"},
                  {"memory_bus_bits", "number"},
                  {"memory_bytes", "number"},
                  {"peak_dram_bytes_per_s", "number"},
                  {"l2_bytes", "number"},
                  {"shared_per_block_optin_bytes", "number"},
                  {"shared_per_sm_bytes", "number"},
                  {"registers_per_block", "number"},
                  {"registers_per_sm", "number"},
                  {"max_threads_per_block", "number"},
                  {"max_threads_per_sm", "number"},
                  {"driver_version", "string"}},
                 "device");
  }
}

TEST_F(CliOutput, CostJsonCarriesTheSchemaVersion) {
  Json doc = json_of("cost --model llama-3.2-1b --context 128k --train-tokens 1e11 --json", "cost");
  expect_types(doc,
               {{"model", "string"},
                {"shape", "object"},
                {"parameters", "object"},
                {"context", "number"},
                {"per_token", "object"},
                {"per_sequence", "object"},
                {"training", "object"}},
               "cost");
  EXPECT_EQ(*json_number_at(doc, "context"), 131072);
}

TEST_F(CliOutput, CompareSearchersTextJsonMarkdownAndTheErrorAlone) {
  const std::string db = tune_exhaustive();
  Json doc = json_of("compare-searchers --seeds 3 --json --db " + db, "compare-searchers");
  expect_types(doc,
               {{"database", "string"},
                {"target_percent", "number"},
                {"random_fraction", "number"},
                {"seeds", "number"},
                {"with_default", "boolean"},
                {"problems", "array"}},
               "compare-searchers");
  ASSERT_EQ(doc.at("problems").size(), 1u);
  const Json& pr = doc.at("problems")[0];
  expect_types(pr,
               {{"problem", "string"},
                {"environment", "string"},
                {"valid_points", "number"},
                {"exhaustive_best_us", "number"},
                {"default_gap", "number"},
                {"guided", "object"},
                {"random", "object"}},
               "problem");
  expect_types(pr.at("guided"),
               {{"evaluations", "number"},
                {"fraction_of_valid", "number"},
                {"gap", "number"},
                {"evaluations_to_target", "number"}},
               "guided");
  expect_types(pr.at("random"), {{"evaluations", "number"}, {"median_gap", "number"}, {"within_target", "number"}},
               "random");

  CliResult text = gqaforge("compare-searchers --seeds 3 --db " + db);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out.find("|"), std::string::npos) << "aligned text by default, like every other table:\n" << text.out;
  EXPECT_LE(widest_line(text.out), 120u) << text.out;
  EXPECT_NE(text.out.find("prefill 8:1 d128 bf16 causal b1 q4k kv4k"), std::string::npos);
  CliResult md = gqaforge("compare-searchers --seeds 3 --markdown --db " + db);
  EXPECT_NE(md.out.find("| prefill 8:1 d128 bf16 causal b1 q4k kv4k |"), std::string::npos) << md.out;

  const std::string sampled = (dir_ / "random.sqlite").string();
  ASSERT_EQ(gqaforge("tune --backend synthetic --quiet --strategy random --budget 3 --db " + sampled).status, 0);
  CliResult none = gqaforge("compare-searchers --db " + sampled);
  EXPECT_EQ(none.status, 1);
  EXPECT_EQ(none.out, "") << "nothing before the error";
  EXPECT_NE(none.err.find("tuned exhaustively"), std::string::npos) << none.err;
}

// Each bad input of issue 12 with the exit status the README promises.
TEST_F(CliOutput, BadInputGetsOneLineAndTheDocumentedExitStatus) {
  const std::string empty = file("empty.json", "");
  const std::string binary = file("binary.db", std::string("\x7f"
                                                           "ELF\x02\x01\x01\0\0\0\0garbage",
                                                           16));
  struct Case {
    std::string args;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"compile --heads 4096:1", 2, "at most 1024 query heads"},
      {"compile --heads 99999999999:1", 2, "at most 1024 query heads"},
      {"compile --arch sm_99", 2, "arch 'sm_99' is not a target of this NVRTC"},
      {"compile --batch 2 --batch 3", 2, "--batch given twice"},
      {"search --target-loss 2.6 --target-loss 2.7", 2, "--target-loss given twice"},
      {"search --target-loss 2.6 --head-dim 100", 2, "head dim 100 has no kernel"},
      {"search --target-loss 2.6 --max-heads 33", 2, "max heads 33 must be a power of two"},
      {"search --target-loss 2.6 --context 1.5e0", 2, "positive count such as 8192, 128k or 1e6"},
      {"search --target-loss 2.6 --loss-model " + (dir_ / "absent.json").string(), 1, "cannot open"},
      {"search --target-loss 2.6 --loss-model " + empty, 2, "expected a value"},
      {"search --target-loss 2.6 --loss-model " + dir_.string(), 1, "is a directory"},
      {"search --target-loss 2.6 --db " + empty, 2, "is empty: not a gqaforge database"},
      {"search --target-loss 2.6 --db " + binary, 2, "not a gqaforge database"},
      {"search --target-loss 2.6 --db " + (dir_ / "absent.sqlite").string(), 1, "cannot open"},
      {"fit " + dir_.string(), 1, "is a directory"},
      {"frobnicate", 2, "unknown command 'frobnicate'"},
  };
  for (const Case& c : cases) {
    CliResult r = gqaforge(c.args);
    EXPECT_EQ(r.status, c.status) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << " should say '" << c.says << "':\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << ": one line:\n" << r.err;
    EXPECT_EQ(r.err.find("migrate"), std::string::npos) << c.args << ": no advice to convert the file:\n" << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_ / "absent.sqlite")) << "a read-only command created the database";
  EXPECT_EQ(slurp(empty), "") << "the empty file was left alone";

  // Accepted: scientific notation for counts.
  CliResult sci = gqaforge("cost --model llama-3.2-1b --context 1e6");
  EXPECT_EQ(sci.status, 0) << sci.err;
  EXPECT_NE(sci.out.find("1000000 tokens"), std::string::npos) << sci.out;
  // An unknown GQAFORGE_LOG is warned about, and the command still runs.
  CliResult log = gqaforge("version", "GQAFORGE_LOG=bogus");
  EXPECT_EQ(log.status, 0);
  EXPECT_NE(log.err.find("GQAFORGE_LOG='bogus' is not debug, info, warn or error"), std::string::npos) << log.err;
  EXPECT_EQ(gqaforge("version", "GQAFORGE_LOG=warn").err, "");
}

TEST_F(CliOutput, TopLevelHelpHidesTheInternalWorker) {
  CliResult help = gqaforge("--help");
  ASSERT_EQ(help.status, 0);
  EXPECT_EQ(help.out.find("tune-worker"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("compare-searchers  "), std::string::npos) << "names aligned: " << help.out;
  EXPECT_NE(help.out.find("Exit status"), std::string::npos);
  EXPECT_EQ(gqaforge("tune-worker --help").status, 0) << "hidden, not removed";
}

// The names of `gqaforge --help` (visible commands) and of the README's command table agree.
TEST_F(CliOutput, ReadmeCommandTableMatchesHelp) {
  CliResult help = gqaforge("--help");
  ASSERT_EQ(help.status, 0);
  std::set<std::string> from_help;
  bool in_list = false;
  for (const std::string& line : split(help.out, '\n')) {
    if (line == "commands:") {
      in_list = true;
      continue;
    }
    if (in_list && line.empty()) break;
    if (in_list) from_help.insert(split(trim(line), ' ')[0]);
  }
  ASSERT_GE(from_help.size(), 10u) << help.out;

  std::ifstream readme(GQAFORGE_SOURCE_DIR "/README.md");
  ASSERT_TRUE(readme.good());
  std::set<std::string> from_readme;
  std::string line;
  bool in_table = false;
  while (std::getline(readme, line)) {
    if (line.rfind("| command | what it does |", 0) == 0) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (line.rfind("|", 0) != 0) break;
    const size_t tick = line.find("`gqaforge ");
    if (tick == std::string::npos) continue;  // the | --- | row
    std::string rest = line.substr(tick + 10);
    from_readme.insert(rest.substr(0, rest.find_first_of(" `")));
  }
  EXPECT_EQ(from_readme, from_help) << "README.md's command table and `gqaforge --help` list different commands";
}

// A real sweep (synthetic backend) under a 100-column pseudo-terminal: the progress line never
// wraps, every redraw clears its row, it names the problem, and it ends at N/N.
TEST_F(CliOutput, TuneProgressFitsA100ColumnTerminal) {
  const std::string db = (dir_ / "pty.sqlite").string();
  struct winsize ws {};
  ws.ws_col = 100;
  ws.ws_row = 40;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    unsetenv("COLUMNS");
    setenv("GQAFORGE_CACHE_DIR", (dir_ / "cache").c_str(), 1);
    execl(kBinary.c_str(), kBinary.c_str(), "tune", "--backend", "synthetic", "--phase", "decode,prefill", "--heads",
          "32:8,8:1", "--batch", "1,16", "--kv-len", "4k,32k", "--strategy", "guided", "--budget", "12", "--db",
          db.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(master, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  std::vector<std::string> progress;
  std::string cur;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\r' && !(i + 1 < out.size() && out[i + 1] == '\n')) {
      EXPECT_EQ(out.compare(i, 4, "\r\033[K"), 0) << "a redraw that does not clear its row, at byte " << i;
    }
    if (out[i] == '\r' || out[i] == '\n') {
      if (cur.rfind("\033[Ktuning", 0) == 0) progress.push_back(cur.substr(3));  // a redraw
      cur.clear();
    } else {
      cur += out[i];
    }
  }
  ASSERT_GE(progress.size(), 1u) << out;
  for (const std::string& p : progress) EXPECT_LT(display_width(p), 100u) << p;
  const std::string& last = progress.back();
  const size_t slash = last.find('/');
  size_t a = slash;
  while (a > 0 && std::isdigit(static_cast<unsigned char>(last[a - 1]))) --a;
  size_t b = slash + 1;
  while (b < last.size() && std::isdigit(static_cast<unsigned char>(last[b]))) ++b;
  EXPECT_EQ(last.substr(a, slash - a), last.substr(slash + 1, b - slash - 1)) << "ends at N/N: " << last;
}

TEST_F(CliOutput, TuneProgressWithoutATerminalIsPlainLines) {
  CliResult r = gqaforge("tune --backend synthetic --phase decode --heads 8:1 --strategy guided --budget 6 --db " +
                         (dir_ / "plain.sqlite").string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("\033["), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tuning: "), std::string::npos) << "the final plain line: " << r.err;
}

}  // namespace
}  // namespace gqaforge::tools
