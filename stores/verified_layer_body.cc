#include "stores/verified_layer_body.h"

#include <fmt/format.h>

#include "core/error.h"
#include "formats/compression/compression.h"

namespace dd {
namespace {

// Passes stored (compressed) bytes through unchanged while decompressing a copy on the side to
// check the diff_id, so a stage can copy compressed bytes verbatim and still get every check.
class DiffIdCheckingStream : public ByteStream {
 public:
  DiffIdCheckingStream(ByteStream& source, Compression compression, Digest diff_id,
                       const Limits& limits, std::string what)
      : source_(source), decompressor_(make_decompressor(compression, limits.expansion, what)),
        expected_(std::move(diff_id)), hasher_(expected_.algorithm()), what_(std::move(what)) {}

  std::size_t read(char* buffer, std::size_t size) override {
    if (done_) return 0;
    const std::size_t n = source_.read(buffer, size);
    auto hash = [this](const char* d, std::size_t len) { hasher_.update(d, len); };
    if (n > 0) {
      decompressor_->feed(buffer, n, hash);
      return n;
    }
    decompressor_->finish(hash);
    const Digest actual = hasher_.finish();
    if (actual != expected_)
      fail(Errc::integrity, "{}: uncompressed content does not match its diff_id: expected {}, got {}",
           what_, expected_.str(), actual.str());
    done_ = true;
    return 0;
  }

 private:
  ByteStream& source_;
  std::unique_ptr<Decompressor> decompressor_;
  Digest expected_;
  Hasher hasher_;
  std::string what_;
  bool done_ = false;
};

}  // namespace

VerifiedLayerBody::VerifiedLayerBody(std::unique_ptr<ByteStream> raw, const LayerInfo& info,
                                     const Limits& limits, Progress* progress)
    : raw_(std::move(raw)), info_(info), limits_(limits), progress_(progress) {}

VerifiedLayerBody::~VerifiedLayerBody() = default;

std::string VerifiedLayerBody::what() const {
  return fmt::format("layer {}/{} ({})", info_.index + 1, info_.count, info_.diff_id.short_str());
}

// raw -> progress counter -> stored digest/size check.
ByteStream& VerifiedLayerBody::checked_stored_bytes() {
  if (head_ != nullptr) fail(Errc::internal, "{} was opened twice", what());
  ByteStream* s = raw_.get();
  if (progress_ != nullptr) {
    progress_->start_layer(info_.index, info_.count, info_.stored.size.value_or(0));
    chain_.push_back(std::make_unique<CountingStream>(*s, [p = progress_](std::uint64_t n) { p->add_bytes(n); }));
    s = chain_.back().get();
  }
  if (!info_.stored.digest.empty()) {
    chain_.push_back(std::make_unique<VerifyingStream>(*s, info_.stored.digest, info_.stored.size,
                                                       what() + " stored blob"));
    s = chain_.back().get();
  }
  return *s;
}

ByteStream& VerifiedLayerBody::stored() {
  ByteStream& s = checked_stored_bytes();
  if (info_.compression == Compression::none && info_.stored.digest == info_.diff_id) {
    head_ = &s;  // uncompressed and named by its diff_id: the stored check is the diff_id check
  } else {
    chain_.push_back(std::make_unique<DiffIdCheckingStream>(s, info_.compression, info_.diff_id, limits_, what()));
    head_ = chain_.back().get();
  }
  return *head_;
}

ByteStream& VerifiedLayerBody::uncompressed() {
  if (info_.compression == Compression::none) return stored();
  ByteStream& s = checked_stored_bytes();
  chain_.push_back(std::make_unique<DecompressingStream>(s, info_.compression, limits_.expansion, what()));
  chain_.push_back(std::make_unique<VerifyingStream>(*chain_.back(), info_.diff_id, std::nullopt,
                                                     what() + " uncompressed content (diff_id)"));
  head_ = chain_.back().get();
  return *head_;
}

std::optional<LayerBody::FileSlice> VerifiedLayerBody::plain_file() const {
  if (head_ != nullptr || info_.compression != Compression::none) return std::nullopt;
  const auto* range = dynamic_cast<const FileRangeStream*>(raw_.get());
  if (range == nullptr) return std::nullopt;
  return FileSlice{range->file(), range->offset(), range->remaining()};
}

void VerifiedLayerBody::drain_and_verify() {
  if (head_ == nullptr) stored();
  drain(*head_);
}

}  // namespace dd
