// How far a compressed stream may expand before it counts as a decompression bomb.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace dd {

// Bounds how far compressed input may expand. Each stream may expand up to `ratio` times its
// compressed size; what any stream expands beyond that is charged to one allowance shared by
// the whole run (copies of a limit share it, across threads). Real layers compress 2-10x, but a
// zero-filled or sparse file reaches 1000x (gzip) or far more (zstd), and docker reads those: so
// the allowance is large — what the run could store (the free space where it spools), at most
// kMaxExpansionAllowance — and stops only expansion that could never be written anywhere.
inline constexpr std::uint64_t kMaxExpansionAllowance = 256ull << 30;

struct ExpansionLimit {
  double ratio = 100;
  std::uint64_t allowance_bytes = kMaxExpansionAllowance;
  std::string allowance_reason = "the most any run may expand";  // for the message
  std::shared_ptr<std::atomic<std::uint64_t>> allowance_used = std::make_shared<std::atomic<std::uint64_t>>(0);
  static ExpansionLimit unlimited() { return {0, 0, {}}; }
  bool enabled() const { return ratio > 0; }
};

// Counts one stream's compressed input and decompressed output against an ExpansionLimit.
class ExpansionMeter {
 public:
  ExpansionMeter(ExpansionLimit limit, std::string what) : limit_(std::move(limit)), what_(std::move(what)) {}
  void add_input(std::uint64_t n) { in_ += n; }
  // Errc::limit once the run's allowance is spent.
  void add_output(std::uint64_t n);

 private:
  ExpansionLimit limit_;
  std::string what_;
  std::uint64_t in_ = 0, out_ = 0, charged_ = 0;
};

}  // namespace dd
