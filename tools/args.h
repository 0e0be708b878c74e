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

// Exit status, the same for every command (README "Exit status"):
//   0 success; 1 a failure while doing the work (I/O: a missing or unreadable file, device,
//   driver, compile, database); 2 bad usage or bad input (unknown or repeated flags, bad values,
//   a file whose content is invalid); 3 a kernel gave a wrong result (the correctness gate).
/// Exit status for usage errors (unknown flags, bad values).
inline constexpr int kUsageError = 2;
/// Exit status for failures while doing the work (I/O, device, compile).
inline constexpr int kFailure = 1;
/// Exit status when a kernel's output disagrees with the reference.
inline constexpr int kWrongResult = 3;

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
  /// Another name for a declared flag: add_alias("o", "output") makes -o FILE and --o FILE mean
  /// --output FILE (help shows "-o, --output FILE").
  void add_alias(const std::string& alias, const std::string& name);
  /// A positional argument; optional ones must come after required ones.
  void add_positional(const std::string& name, const std::string& help, bool required = true);

  /// Parses args (args[0] is the first argument after the subcommand name). A flag given twice
  /// (under any of its names) is an error, not "the last wins".
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
    std::vector<std::string> aliases;
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
/// Prints "gqaforge: error: <status message>" and returns the exit status of its code:
/// kUsageError for invalid_argument (bad input, including a file's invalid content), kFailure
/// for everything else (not_found, unavailable, data_loss, ...: the work could not be done).
int report_failure(const Status& status);
/// The exit status report_failure() returns for `status`.
int exit_status_of(const Status& status);

}  // namespace gqaforge::cli
