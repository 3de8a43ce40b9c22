// Progress of long work on stderr: layer i/N, bytes, rate. As a line redrawn in place (a
// terminal), as one JSON object per line (--progress=json, for scripts and GUIs), or not at all,
// when every call is a no-op.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dd {

class Progress {
 public:
  enum class Mode { off, bar, json };
  explicit Progress(bool enabled) : mode_(enabled ? Mode::bar : Mode::off) {}
  explicit Progress(Mode mode) : mode_(mode) {}
  static bool stderr_is_terminal();

  void start_layer(std::size_t index, std::size_t count, std::uint64_t size);
  void add_bytes(std::uint64_t n);
  void done();
  // Erases a progress line that is showing, so other output starts on a clean line.
  static void clear_line();

 private:
  void draw(bool force);
  void emit_json(const char* event, double rate);
  Mode mode_;
  std::size_t index_ = 0, count_ = 0;
  std::uint64_t layer_size_ = 0, layer_bytes_ = 0, total_bytes_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string human_bytes(std::uint64_t n);

}  // namespace dd
