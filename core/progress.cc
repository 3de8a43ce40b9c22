#include "core/progress.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include <fmt/format.h>

namespace dd {
namespace {
std::atomic<bool> g_line_showing{false};
}

bool Progress::stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::string human_bytes(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

void Progress::start_layer(std::size_t index, std::size_t count, std::uint64_t size) {
  index_ = index;
  count_ = count;
  layer_size_ = size;
  layer_bytes_ = 0;
  draw(true);
}

void Progress::add_bytes(std::uint64_t n) {
  layer_bytes_ += n;
  total_bytes_ += n;
  draw(false);
}

void Progress::done() {
  if (mode_ == Mode::bar) clear_line();
  if (mode_ == Mode::json) emit_json("done", 0);
}

void Progress::clear_line() {
  if (g_line_showing.exchange(false)) std::fputs("\r\033[K", stderr);
}

// One object a line, keys fixed (docs/cli.md): a reader needs no more than a JSON parser.
void Progress::emit_json(const char* event, double rate) {
  std::string line = fmt::format(R"({{"event":"{}","layer":{},"layers":{},"bytes":{},"total":{},"all_bytes":{},"rate":{}}})",
                                 event, index_ + 1, count_, layer_bytes_, layer_size_, total_bytes_,
                                 static_cast<std::uint64_t>(rate));
  line += '\n';
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void Progress::draw(bool force) {
  if (mode_ == Mode::off) return;
  const auto now = std::chrono::steady_clock::now();
  const bool layer_complete = layer_size_ > 0 && layer_bytes_ == layer_size_;
  if (!force && !layer_complete && now - last_draw_ < std::chrono::milliseconds(mode_ == Mode::json ? 250 : 100)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(total_bytes_) / seconds : 0;
  if (mode_ == Mode::json) {
    emit_json(force ? "layer" : "bytes", rate);
    return;
  }
  std::string line = fmt::format("layer {}/{}  {}", index_ + 1, count_, human_bytes(layer_bytes_));
  if (layer_size_ > 0) line += fmt::format(" of {}", human_bytes(layer_size_));
  line += fmt::format("  {}/s", human_bytes(static_cast<std::uint64_t>(rate)));
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  g_line_showing = true;
}

}  // namespace dd
