#include "core/log.h"

#include <atomic>
#include <cstdio>

#include "core/printable.h"
#include "core/progress.h"

namespace dd::log {
namespace {
std::atomic<Level> g_level{Level::normal};
}

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }

std::string terminal_safe(std::string_view message) {
  std::string out;
  for (;;) {
    const auto slash = message.find('\\');
    out += printable(message.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    out += '\\';
    message.remove_prefix(slash + 1);
  }
}

void write(Level, std::string_view line) {
  Progress::clear_line();  // a message must not land in the middle of a progress line
  const std::string safe = terminal_safe(line);
  std::fprintf(stderr, "%.*s\n", static_cast<int>(safe.size()), safe.data());
}

}  // namespace dd::log
