// ArgParser implementation.
#include "tools/args.h"

#include <cctype>
#include <cstdio>

#include <fmt/format.h>

namespace gqaforge::cli {

ArgParser::ArgParser(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  add_switch("help", "show this help and exit");
}

void ArgParser::add_flag(const std::string& name, const std::string& metavar,
                         const std::string& help, const std::string& default_text) {
  flags_.push_back({name, metavar, help, default_text, false});
}

void ArgParser::add_switch(const std::string& name, const std::string& help) {
  flags_.push_back({name, "", help, "", true});
}

void ArgParser::add_alias(const std::string& alias, const std::string& name) {
  for (Flag& f : flags_) {
    if (f.name == name) f.aliases.push_back(alias);
  }
}

void ArgParser::add_positional(const std::string& name, const std::string& help, bool required) {
  positionals_.push_back({name, help, required});
}

int ArgParser::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    // One-letter flags may be written with one dash: -o FILE is --o FILE.
    if (arg.size() == 2 && arg[0] == '-' && std::isalpha(static_cast<unsigned char>(arg[1])) && arg != "-h") {
      arg = "-" + arg;
    }
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::string name = arg.substr(2);
      std::optional<std::string> inline_value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const Flag* flag = nullptr;
      for (const Flag& f : flags_) {
        if (f.name == name) flag = &f;
        for (const std::string& a : f.aliases) {
          if (a == name) flag = &f;
        }
      }
      if (flag == nullptr) {
        return usage_error(fmt::format("{}: unknown flag '--{}' (see --help)", program_, name));
      }
      const std::string typed = args[i].size() == 2 ? args[i] : fmt::format("--{}", name);  // as written
      name = flag->name;
      if (values_.count(name) != 0 && name != "help") {
        const std::string what = typed == "--" + name ? typed : fmt::format("{} (--{})", typed, name);
        return usage_error(fmt::format("{}: {} given twice (give each flag once)", program_, what));
      }
      if (flag->is_switch) {
        if (inline_value) {
          return usage_error(fmt::format("{}: switch '--{}' takes no value", program_, name));
        }
        values_[name] = "1";
        if (name == "help") {
          std::fputs(help_text().c_str(), stdout);
          return 0;
        }
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          return usage_error(fmt::format("{}: flag '--{}' needs a value ({})", program_, name, flag->metavar));
        }
        inline_value = args[++i];
      }
      values_[name] = *inline_value;
    } else if (arg == "-h") {
      std::fputs(help_text().c_str(), stdout);
      return 0;
    } else if (arg.size() > 1 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9')) {
      return usage_error(fmt::format("{}: unknown option '{}' (see --help)", program_, arg));
    } else {
      if (positional_values_.size() >= positionals_.size()) {
        return usage_error(fmt::format("{}: unexpected argument '{}' (see --help)", program_, arg));
      }
      positional_values_.push_back(arg);
    }
  }
  for (size_t i = positional_values_.size(); i < positionals_.size(); ++i) {
    if (positionals_[i].required) {
      return usage_error(fmt::format("{}: missing argument <{}> (see --help)", program_, positionals_[i].name));
    }
  }
  return -1;
}

bool ArgParser::has(const std::string& name) const { return values_.count(name) != 0; }

std::string ArgParser::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::optional<std::string> ArgParser::get_optional(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

bool ArgParser::get_switch(const std::string& name) const { return has(name); }

std::string ArgParser::help_text() const {
  std::string usage = fmt::format("usage: {} [flags]", program_);
  for (const Positional& p : positionals_) {
    usage += p.required ? fmt::format(" <{}>", p.name) : fmt::format(" [{}]", p.name);
  }
  std::string out = usage + "\n\n" + summary_ + "\n";
  if (!positionals_.empty()) {
    out += "\narguments:\n";
    for (const Positional& p : positionals_) out += fmt::format("  {:<24} {}\n", p.name, p.help);
  }
  out += "\nflags:\n";
  for (const Flag& f : flags_) {
    std::string names;
    for (const std::string& a : f.aliases) names += fmt::format("{}{}, ", a.size() == 1 ? "-" : "--", a);
    names += fmt::format("--{}", f.name);
    std::string left = f.is_switch ? names : fmt::format("{} {}", names, f.metavar);
    std::string help = f.help;
    if (!f.default_text.empty()) help += fmt::format(" (default: {})", f.default_text);
    out += fmt::format("  {:<24} {}\n", left, help);
  }
  return out;
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

}  // namespace gqaforge::cli
