// The project's thin layer over CLI11, shared by every subcommand: exit statuses, the error
// line, the help layout, switches that may be given once, and the one place where CLI11's parse
// errors become an exit status.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "core/status.h"

namespace gqaforge::tools {

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

/// Prints "gqaforge: error: <message>" to stderr and returns kUsageError.
int usage_error(const std::string& message);
/// Prints "gqaforge: error: <status message>" and returns the exit status of its code:
/// kUsageError for invalid_argument (bad input, including a file's invalid content), kFailure
/// for everything else (not_found, unavailable, data_loss, ...: the work could not be done).
int report_failure(const Status& status);
/// The exit status report_failure() returns for `status`.
int exit_status_of(const Status& status);

/// Sets up the root app: the help layout (usage first, wrapped descriptions, defaults and
/// environment variables in the description), -h/--help on every subcommand, and option
/// defaults (a flag given twice is an error, a switch takes no value). Subcommands added
/// afterwards inherit all of it.
void configure_root(CLI::App& app);

/// Adds subcommand `name` to `parent` (the root or a command with subcommands): `summary` is its
/// line in the parent's help; a declare function gives it its own description. A hidden one
/// parses and runs but is not listed.
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary, bool hidden = false);

/// The names of an output-file flag: -o FILE, --output FILE (and --o FILE, as -o with two dashes).
inline constexpr const char* kOutputFlag = "-o,--output,--o";  // --output first: the name in messages

/// A boolean switch `--name` (no value; given twice is an error, like every flag).
CLI::Option* add_switch(CLI::App& app, const std::string& name, bool& value, const std::string& help);

/// The one place where a failed parse becomes an exit status: --help and --version print and
/// return 0; every other CLI11 error prints one "gqaforge: error: ..." line naming the flag (and
/// its value where there is one) and returns kUsageError.
int parse_error_status(const CLI::App& root, const CLI::Error& error);

}  // namespace gqaforge::tools
