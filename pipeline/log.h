// Messages for the user on stderr. Data for scripts goes to stdout; everything else comes here.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace dd::log {

enum class Level { quiet = 0, normal = 1, verbose = 2 };
void set_level(Level level);
Level level();
void write(Level at, std::string_view line);

template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::normal) write(Level::normal, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void verbose(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::verbose) write(Level::verbose, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace dd::log
