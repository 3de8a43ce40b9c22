// Messages for the user on stderr. Data for scripts goes to stdout; everything else comes here.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace dd::log {

enum class Level { quiet = 0, normal = 1, verbose = 2 };
void set_level(Level level);
Level level();
// Writes one line; control characters and ill-formed UTF-8 in it are escaped (see
// terminal_safe), so a name from the input cannot rewrite the terminal.
void write(Level at, std::string_view line);

// A message made safe for the terminal: control characters (line breaks too) and ill-formed
// UTF-8 escaped as printable() does, backslashes kept as they are, so the parts of the message
// that were already passed through printable() are not escaped twice.
std::string terminal_safe(std::string_view message);

template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::normal) write(Level::normal, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void verbose(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::verbose) write(Level::verbose, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace dd::log
