// A layer body over bytes in a file that this run has already checked against the layer's
// diff_id (hashed while writing them, or read once through a VerifiedLayerBody). Handing such
// bytes on as a VerifiedLayerBody would hash the whole layer a second time; this does not.
// Only for files the run wrote itself or verified moments before: everything that reaches a
// receiver is verified again there.
#pragma once

#include <memory>

#include "pipeline/element.h"

namespace dd {

class CheckedFileLayerBody : public LayerBody {
 public:
  CheckedFileLayerBody(std::shared_ptr<UniqueFd> file, std::uint64_t offset, std::uint64_t size, std::string what)
      : file_(std::move(file)), offset_(offset), size_(size), stream_(file_, offset, size, std::move(what)) {}
  ByteStream& stored() override { return read_once(); }
  ByteStream& uncompressed() override { return read_once(); }
  void drain_and_verify() override {}
  std::optional<FileSlice> plain_file() const override {
    if (read_) return std::nullopt;
    return FileSlice{file_, offset_, size_};
  }

 private:
  ByteStream& read_once() {
    read_ = true;
    return stream_;
  }
  std::shared_ptr<UniqueFd> file_;
  std::uint64_t offset_, size_;
  FileRangeStream stream_;
  bool read_ = false;
};

}  // namespace dd
