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

// The contract between an input and the stages after it, for every method below:
// - Thread: an input calls fetch_callback, process_image_element and finalize of the first stage
//   on the one thread that called InputStore::run (finalize: the runner, on that thread, after
//   run returns), and a filter calls the next stage on the thread it was called on. A stage may
//   start threads of its own (the delta filter reads the bases on one) but calls no other stage
//   from them. A body may be produced on another thread; it is read on the calling thread.
// - Order: see each method. Nothing may be assumed beyond what is written there: inputs differ
//   (a daemon input asks about every layer before it sends anything; an archive input asks about
//   each layer just before it sends it, after the config).
// - Cancellation: a run ends early only by an exception: a stage's own error, or
//   throw_if_interrupted() (core/interruption.h) after a signal, which loops over blocks call.
//   The exception leaves process_image_element; finalize is then never called, and each stage's
//   destructor removes what it wrote. A stage never swallows an error of the stage it calls.
class Stage {
 public:
  virtual ~Stage() = default;

  // Does the rest of the pipeline want this blob's body? Asked by the input before it opens a
  // body: with the digest of an index's leaf manifest (BlobKind::manifest; after the index
  // element, before the manifest element), and with the diff_id of each layer (BlobKind::layer;
  // at any time before that layer's element, possibly before the manifest and the config). So
  // an answer must not depend on the config or manifest having been seen; `kind` says what is
  // asked about. False means the body is never read: the layer element comes with a null body.
  // May be asked more than once for one digest; the answer must not change. Filters answer for
  // themselves or forward.
  virtual bool fetch_callback(const Digest& digest, BlobKind kind) = 0;

  // Called once per element, in this order from an input: index (if the source has one), then
  // for the chosen image: manifest, config, layers in order (layer i before layer i+1). A filter
  // that rewrites layers may hold the config back and send it after the layers (with
  // rootfs.diff_ids fixed), so stages must accept the config at any point before finalize().
  // `type` equals data.type(). `name` is the element's digest, or a short label where it has
  // none. What `data` points to, bodies included, is valid only during the call; a layer body
  // may be read during the call only, and at most once (element.h).
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
