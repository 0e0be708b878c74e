// Command-line flag parsing shared by every subcommand: declared flags, generated --help,
// strict values, and one clear error line (exit status 2) for anything unknown or malformed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace gqaforge::cli {

/// Exit status for usage errors (unknown flags, bad values).
inline constexpr int kUsageError = 2;
/// Exit status for failures while doing the work (I/O, device, compile).
inline constexpr int kFailure = 1;

/// Declares and parses the flags of one subcommand.
///
///   ArgParser p("gqaforge cost", "Prints the inference cost of a model.");
///   p.add_flag("model", "NAME", "preset name");           // --model NAME
///   p.add_switch("json", "print JSON");                   // --json
///   p.add_positional("csv", "loss measurements");         // required positional
///   if (int rc = p.parse(argc, argv); rc >= 0) return rc; // printed help or an error
///   std::string m = p.get("model", "llama-3.2-1b");
class ArgParser {
 public:
  ArgParser(std::string program, std::string summary);

  /// A flag taking a value: --name VALUE or --name=VALUE (a one-letter name also as -n VALUE).
  /// `default_text` is shown in --help.
  void add_flag(const std::string& name, const std::string& metavar, const std::string& help,
                const std::string& default_text = "");
  /// A boolean switch: --name.
  void add_switch(const std::string& name, const std::string& help);
  /// A positional argument; optional ones must come after required ones.
  void add_positional(const std::string& name, const std::string& help, bool required = true);

  /// Parses args (args[0] is the first argument after the subcommand name).
  /// Returns -1 on success, 0 after printing --help, kUsageError after printing the error.
  int parse(const std::vector<std::string>& args);

  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::optional<std::string> get_optional(const std::string& name) const;
  bool get_switch(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positional_values_; }

  std::string help_text() const;
  const std::string& program() const { return program_; }

 private:
  struct Flag {
    std::string name, metavar, help, default_text;
    bool is_switch = false;
  };
  struct Positional {
    std::string name, help;
    bool required = true;
  };
  std::string program_, summary_;
  std::vector<Flag> flags_;
  std::vector<Positional> positionals_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_values_;
};

/// Prints "gqaforge: error: <message>" to stderr and returns kUsageError.
int usage_error(const std::string& message);
/// Prints "gqaforge: error: <status message>" and returns kUsageError for invalid_argument,
/// kFailure otherwise.
int report_failure(const Status& status);

}  // namespace gqaforge::cli
