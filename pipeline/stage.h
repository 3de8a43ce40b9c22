// The interfaces every stage implements. An input store pushes elements into the first stage;
// filters wrap the next stage; the output store is the last stage.
#pragma once

#include <memory>
#include <optional>
#include <vector>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/element.h"

namespace dd {

class Stage {
 public:
  virtual ~Stage() = default;

  // Does the rest of the pipeline want this blob's body? Called by the input before it opens a
  // body: with the digest of an index's leaf manifest (BlobKind::manifest), and with the diff_id
  // of each layer (BlobKind::layer). Questions about layers may come before the config is sent
  // (the daemon input must decide what to keep while it reads one stream holding both), so an
  // answer must not depend on having seen the config; the kind says what is asked about. A false
  // answer means the body is never read. May be called more than once for one digest; the answer
  // must not change. Filters answer for themselves or forward.
  virtual bool fetch_callback(const Digest& digest, BlobKind kind) = 0;

  // Called once per element, in this order from an input: index (if the source has one), then
  // for the chosen image: manifest, config, layers in order. A filter that rewrites layers may
  // hold the config back and send it after the layers (with rootfs.diff_ids fixed), so stages must
  // accept the config at any point before finalize(). `name` is the element's digest, or a short
  // label where it has none. Bodies are valid only during the call.
  virtual void process_image_element(ElementType type, const std::string& name, ElementData& data) = 0;

  // Called once, after the last element, only when everything succeeded. Outputs commit here
  // (rename temporaries into place). After a failure it is not called; destructors then remove
  // whatever was written.
  virtual void finalize() = 0;
};

// A filter forwards everything to the stage it wraps unless it overrides a method.
class Filter : public Stage {
 public:
  explicit Filter(Stage& next) : next_(next) {}
  bool fetch_callback(const Digest& digest, BlobKind kind) override { return next_.fetch_callback(digest, kind); }
  void process_image_element(ElementType type, const std::string& name, ElementData& data) override {
    next_.process_image_element(type, name, data);
  }
  void finalize() override { next_.finalize(); }

 protected:
  Stage& next_;
};

// The last stage. result() describes what finalize() committed (for --json and the summary).
class OutputStore : public Stage {
 public:
  virtual nlohmann::json result() const = 0;
};

// What a source can say about its image without reading it (a daemon's image inspect).
struct ImageSummary {
  std::string name;
  Digest image_id;
  std::vector<Digest> diff_ids;
};

// Reads one source and pushes its elements into `first`. It does not call finalize().
class InputStore {
 public:
  virtual ~InputStore() = default;
  virtual void run(Stage& first) = 0;
  // The image's ID and diff_ids when the source can tell them cheaply; nothing otherwise.
  virtual std::optional<ImageSummary> summary() { return std::nullopt; }
};

}  // namespace dd
