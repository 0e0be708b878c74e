// The help layout and the error mapping of the CLI (on CLI11).
#include "tools/args.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "core/strings.h"

namespace gqaforge::tools {
namespace {

constexpr size_t kHelpWidth = 100;  // help lines wrap here
constexpr size_t kNameColumn = 28;  // flag descriptions start here

// Re-flows `text` to `width` columns: lines of one paragraph are joined, blank lines kept.
std::string wrap(const std::string& text, size_t width) {
  std::string out, line;
  auto flush = [&] {
    if (!line.empty()) out += line + "\n";
    line.clear();
  };
  for (const std::string& paragraph_line : split(text, '\n')) {
    if (trim(paragraph_line).empty()) {
      flush();
      out += "\n";
      continue;
    }
    for (const std::string& word : split(paragraph_line, ' ')) {
      if (word.empty()) continue;
      if (!line.empty() && display_width(line) + 1 + display_width(word) > width) flush();
      line += (line.empty() ? "" : " ") + word;
    }
  }
  flush();
  if (!out.empty()) out.pop_back();
  return out;
}

// A flag followed by a value (not a switch).
bool takes_value(const CLI::Option* opt) {
  return opt->get_expected_min() > 0;
}

// Help in the project's layout: the usage line first, descriptions wrapped, each flag's
// default and environment variable in its description, subcommands aligned by name.
class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter() {
    column_width(kNameColumn);
    label("Positionals", "arguments");
  }

  // A subcommand's line in its parent's list; its own description is the text of its --help.
  void set_summary(const CLI::App* sub, std::string summary) { summaries_[sub] = std::move(summary); }

  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override {
    std::string out = make_usage(app, name);
    if (!app->get_description().empty()) out += "\n" + wrap(app->get_description(), kHelpWidth) + "\n";
    out += make_positionals(app);
    out += make_groups(app, mode);
    out += make_subcommands(app, mode);
    if (!app->get_footer().empty()) out += "\n" + wrap(app->get_footer(), kHelpWidth) + "\n";
    return out;
  }

  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string out = "usage: " + name;
    if (!visible_subcommands(app).empty()) out += app->get_parent() == nullptr ? " <command>" : " <subcommand>";
    out += " [flags]";
    for (const CLI::Option* p : app->get_options([](const CLI::Option* o) { return o->get_positional(); })) {
      const bool many = p->get_expected_max() > 1;
      out += p->get_required() ? fmt::format(" <{}>{}", p->get_name(), many ? "..." : "")
                               : fmt::format(" [{}{}]", p->get_name(), many ? "..." : "");
    }
    return out + "\n";
  }

  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override {
    if (is_positional) return opt->get_name();
    std::vector<std::string> names;
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
    for (const std::string& l : opt->get_lnames()) {
      if (l.size() > 1) names.push_back("--" + l);  // --o is -o again: not listed twice
    }
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  // Only the metavar: the default and environment variable go into the description.
  std::string make_option_opts(const CLI::Option* opt) const override {
    if (opt->get_positional() || !takes_value(opt)) return "";
    return " " + opt->get_type_name();
  }

  std::string make_option_desc(const CLI::Option* opt) const override {
    std::string desc = opt->get_description();
    const std::string& fallback = opt->get_default_str();
    if (!opt->get_envname().empty()) {
      desc += fmt::format(" (default: ${}{})", opt->get_envname(), fallback.empty() ? "" : ", else " + fallback);
    } else if (!fallback.empty()) {
      desc += fmt::format(" (default: {})", fallback);
    }
    return wrap(desc, kHelpWidth - kNameColumn);
  }

  std::string make_subcommands(const CLI::App* app, CLI::AppFormatMode) const override {
    const std::vector<const CLI::App*> subs = visible_subcommands(app);
    if (subs.empty()) return "";
    size_t width = 0;
    for (const CLI::App* s : subs) width = std::max(width, s->get_name().size());
    std::string out = "\n" + subs.front()->get_group() + ":\n";
    for (const CLI::App* s : subs) {
      auto it = summaries_.find(s);
      out += fmt::format("  {:<{}}  {}\n", s->get_name(), width,
                         it != summaries_.end() ? it->second : s->get_description());
    }
    return out;
  }

 private:
  std::map<const CLI::App*, std::string> summaries_;

  static std::vector<const CLI::App*> visible_subcommands(const CLI::App* app) {
    return app->get_subcommands([](const CLI::App* s) { return !s->get_name().empty() && !s->get_group().empty(); });
  }
};

// The subcommand the parse reached: "gqaforge db info" ends at info.
const CLI::App& deepest_selected(const CLI::App& root) {
  const CLI::App* app = &root;
  for (std::vector<const CLI::App*> next = app->get_subcommands({});; next = app->get_subcommands({})) {
    auto it = std::find_if(next.begin(), next.end(), [](const CLI::App* s) { return s->parsed(); });
    if (it == next.end()) return *app;
    app = *it;
  }
}

// "db info" for `gqaforge db info`, "" for the root.
std::string command_path(const CLI::App& app) {
  std::string path;
  for (const CLI::App* a = &app; a->get_parent() != nullptr; a = a->get_parent()) {
    path = a->get_name() + (path.empty() ? "" : " " + path);
  }
  return path;
}

// CLI11's own words, except where the project's name the problem better: an argument nobody
// declared, and a flag given twice (CLI11 says "At Most 1 required but received 2").
std::string parse_error_message(const CLI::App& app, const CLI::Error& error) {
  const std::string path = command_path(app);
  const std::string see = fmt::format("see gqaforge{} --help", path.empty() ? "" : " " + path);
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    std::vector<std::string> extras;
    for (const CLI::App* a = &app; a != nullptr && extras.empty(); a = a->get_parent()) extras = a->remaining();
    const std::string arg = extras.empty() ? std::string() : extras.front();
    if (arg.rfind("-", 0) == 0 && arg.size() > 1) {
      return fmt::format("unknown flag '{}' ({})", arg.substr(0, arg.find('=')), see);
    }
    if (app.get_parent() == nullptr) return fmt::format("unknown command '{}' ({})", arg, see);
    if (!app.get_subcommands({}).empty()) return fmt::format("unknown subcommand '{}' ({})", arg, see);
    return fmt::format("unexpected argument '{}' ({})", arg, see);
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
    for (const CLI::Option* opt : app.get_options()) {
      if (opt->count() < 2 || opt->get_positional() || opt->get_expected_max() > 1) continue;
      std::string values;
      if (takes_value(opt)) {
        for (const std::string& v : opt->results()) values += fmt::format("{}'{}'", values.empty() ? "" : " and ", v);
        values += "; ";
      }
      return fmt::format("{} given twice ({}give each flag once)", opt->get_name(), values);
    }
  }
  return error.what();
}

}  // namespace

void configure_root(CLI::App& app) {
  app.formatter(std::make_shared<HelpFormatter>());
  app.option_defaults()->group("flags")->multi_option_policy(CLI::MultiOptionPolicy::Throw)->disable_flag_override();
  app.set_help_flag("-h,--help", "show this help and exit");  // after the defaults: in the "flags" group
}

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary, bool hidden) {
  CLI::App* sub = parent.add_subcommand(name, summary);
  // CLI11 copies the parent's help flag before its option defaults: give it their group.
  sub->get_help_ptr()->group(parent.get_help_ptr()->get_group());
  sub->group(hidden ? "" : parent.get_parent() == nullptr ? "commands" : "subcommands");
  if (auto f = std::dynamic_pointer_cast<HelpFormatter>(parent.get_formatter())) f->set_summary(sub, summary);
  return sub;
}

CLI::Option* add_switch(CLI::App& app, const std::string& name, bool& value, const std::string& help) {
  // CLI11 lets a bool flag repeat (the last wins); here it is an error like any other flag.
  return app.add_flag(name, value, help)->multi_option_policy(CLI::MultiOptionPolicy::Throw);
}

int parse_error_status(const CLI::App& root, const CLI::Error& error) {
  if (dynamic_cast<const CLI::ParseError*>(&error) == nullptr) {
    // A flag declared wrongly (CLI::ConstructionError): a bug of gqaforge, not of the input.
    std::fprintf(stderr, "gqaforge: error: internal: %s\n", error.what());
    return kFailure;
  }
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    // CLI11 ends the parse of --help and --version by throwing.
    if (dynamic_cast<const CLI::CallForVersion*>(&error) != nullptr) {
      std::printf("%s\n", error.what());
    } else {
      std::fputs(root.help().c_str(), stdout);
    }
    return 0;
  }
  const CLI::App& app = deepest_selected(root);
  const std::string path = command_path(app);
  const std::string message = parse_error_message(app, error);
  return usage_error(path.empty() ? message : fmt::format("{}: {}", path, message));
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "gqaforge: error: %s\n", message.c_str());
  return kUsageError;
}

int exit_status_of(const Status& status) {
  if (status.ok()) return 0;
  return status.code() == StatusCode::kInvalidArgument ? kUsageError : kFailure;
}

int report_failure(const Status& status) {
  std::fprintf(stderr, "gqaforge: error: %s\n", status.message().c_str());
  return exit_status_of(status);
}

}  // namespace gqaforge::tools
