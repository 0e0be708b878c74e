// The HTML report in a real browser: headless Chromium renders it to a PNG screenshot, and a
// copy with a small measuring script reports its layout through --dump-dom: no table cell
// wraps, no table is wider than the page, every plot takes the page's width. Skips when no
// Chromium is installed (tools/setup.sh installs chromium-headless-shell).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/json.h"
#include "costmodel/report_html.h"
#include "tests/costmodel/test_util.h"

namespace gqaforge::costmodel {
namespace {

namespace fs = std::filesystem;

std::string find_browser() {
  for (const char* name : {"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"}) {
    std::string cmd = std::string("command -v ") + name + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) continue;
    char buf[512] = {0};
    std::string path = fgets(buf, sizeof buf, p) != nullptr ? buf : "";
    pclose(p);
    while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
    if (!path.empty()) return path;
  }
  return "";
}

std::string run(const std::string& cmd, int* status) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  if (p == nullptr) return out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int raw = pclose(p);
  *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return out;
}

class ReportInBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    browser_ = find_browser();
    if (browser_.empty()) GTEST_SKIP() << "no chromium-headless-shell or chromium on PATH (tools/setup.sh installs it)";
    dir_ = fs::temp_directory_path() / ("gqaforge_report_browser_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    auto report = testing::headline_report_html();
    ASSERT_TRUE(report.ok()) << report.status().message();
    html_ = *report;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty() && std::getenv("GQAFORGE_KEEP_SCREENSHOT") == nullptr) fs::remove_all(dir_, ec);
  }
  std::string chromium(const std::string& args) {
    // A private profile directory keeps parallel runs apart; --no-sandbox for root in CI.
    std::string cmd = "timeout 120 '" + browser_ + "' --headless --no-sandbox --disable-gpu --hide-scrollbars " +
                      "--user-data-dir='" + (dir_ / "profile").string() + "' " + args + " 2>/dev/null";
    int status = -1;
    std::string out = run(cmd, &status);
    EXPECT_EQ(status, 0) << cmd;
    return out;
  }
  std::string browser_;
  fs::path dir_;
  std::string html_;
};

TEST_F(ReportInBrowser, ScreenshotIsProduced) {
  fs::path page = dir_ / "report.html";
  std::ofstream(page) << html_;
  fs::path png = dir_ / "report.png";
  chromium("--window-size=1280,4200 --screenshot='" + png.string() + "' 'file://" + page.string() + "'");
  ASSERT_TRUE(fs::exists(png)) << "no screenshot at " << png;
  std::ifstream in(png, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);  // IHDR width
  EXPECT_EQ(be32(20), 4200u);  // IHDR height
  EXPECT_GT(bytes.size(), 100u * 1024) << "a blank page compresses to a few KB";
  if (std::getenv("GQAFORGE_KEEP_SCREENSHOT") != nullptr) std::printf("screenshot: %s\n", png.c_str());
}

TEST_F(ReportInBrowser, CellsDoNotWrapAndPlotsUseThePageWidth) {
  // The measuring script goes into a copy: the report itself stays script-free.
  const char* probe = R"js(<script>
window.addEventListener('load', () => {
  const body = document.body.getBoundingClientRect().width;
  const style = getComputedStyle(document.body);
  const content = body - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  let wrapped = 0, cells = 0, widest_table = 0;
  for (const td of document.querySelectorAll('table:not(.kv) td, table:not(.kv) th')) {
    ++cells;
    const lh = parseFloat(getComputedStyle(td).lineHeight) || 16;
    const range = document.createRange();
    range.selectNodeContents(td);
    if (range.getClientRects().length > 1 || td.getBoundingClientRect().height > 2.2 * lh) ++wrapped;
  }
  for (const t of document.querySelectorAll('table')) widest_table = Math.max(widest_table, t.getBoundingClientRect().width);
  const svgs = [...document.querySelectorAll('svg')].map(s => s.getBoundingClientRect().width);
  const pre = document.createElement('pre');
  pre.id = 'layout';
  pre.textContent = JSON.stringify({content, cells, wrapped, widest_table, svgs});
  document.body.appendChild(pre);
});
</script>)js";
  std::string probed = html_;
  probed.insert(probed.rfind("</body>"), probe);
  fs::path page = dir_ / "probe.html";
  std::ofstream(page) << probed;
  std::string dom =
      chromium("--window-size=1280,2000 --virtual-time-budget=5000 --dump-dom 'file://" + page.string() + "'");
  const size_t at = dom.find("<pre id=\"layout\">");
  ASSERT_NE(at, std::string::npos) << dom.substr(0, 500);
  const size_t start = at + std::string("<pre id=\"layout\">").size();
  auto layout = parse_json(dom.substr(start, dom.find("</pre>", start) - start));
  ASSERT_TRUE(layout.ok()) << layout.status().message();
  const double content = *json_number_at(*layout, "content");
  EXPECT_GT(*json_number_at(*layout, "cells"), 100);
  EXPECT_EQ(*json_number_at(*layout, "wrapped"), 0) << "table cells wrap";
  EXPECT_LE(*json_number_at(*layout, "widest_table"), content + 1) << "a table is wider than the page";
  auto svgs = json_array_at(*layout, "svgs");
  ASSERT_TRUE(svgs.ok());
  EXPECT_EQ((*svgs)->size(), 4u);
  for (const Json& w : **svgs) EXPECT_GE(w.get<double>(), 0.95 * content) << "a plot narrower than the page";
}

}  // namespace
}  // namespace gqaforge::costmodel
