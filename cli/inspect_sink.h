// The last stage of `inspect`: records what the source says about the image and writes nothing.
// Layer bodies are declined (nothing is read) unless --verify asks for every byte to be checked.
#pragma once

#include <vector>

#include "pipeline/stage.h"

namespace dd::cli {

class InspectSink : public OutputStore {
 public:
  InspectSink(std::string source, bool verify) : source_(std::move(source)), verify_(verify) {}
  bool fetch_callback(const Digest& digest, BlobKind kind) override;
  void process_image_element(ElementType type, const std::string& name, ElementData& data) override;
  void finalize() override {}
  nlohmann::json result() const override { return result_; }

 private:
  std::string source_;
  bool verify_;
  std::vector<std::string> platforms_;
  nlohmann::json result_;
};

}  // namespace dd::cli
