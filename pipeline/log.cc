#include "pipeline/log.h"

#include <atomic>
#include <cstdio>

#include "pipeline/progress.h"

namespace dd::log {
namespace {
std::atomic<Level> g_level{Level::normal};
}

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }

void write(Level, std::string_view line) {
  Progress::clear_line();  // a message must not land in the middle of a progress line
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

}  // namespace dd::log
