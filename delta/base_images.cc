#include "delta/base_images.h"

#include "core/error.h"
#include "core/interruption.h"
#include "core/log.h"
#include "core/temp_file.h"
#include "formats/archive/layer_tar_index.h"
#include "formats/image/manifest_parser.h"
#include "pipeline/runner.h"

namespace dd {

namespace {

// The last stage of a pipeline over a base image: notes the image, and spools wanted layers.
class BaseCollector : public OutputStore {
 public:
  // `image` (which outlives the pipeline that owns this stage) receives what the image is.
  BaseCollector(std::string source, const std::set<Digest>* wanted, std::map<Digest, DeltaLayerFile>* spooled,
                InventoryImage* image, const RunContext& ctx)
      : source_(std::move(source)), wanted_(wanted), spooled_(spooled), image_(*image), ctx_(ctx) {
    image_.name = source_;
  }
  bool fetch_callback(const Digest& d, BlobKind kind) override {
    if (kind == BlobKind::manifest) return true;  // small, and needed to find the image
    return wanted_ != nullptr && wanted_->count(d) > 0 && spooled_->count(d) == 0;
  }
  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    if (type == ElementType::manifest && !data.manifest().repo_tags.empty()) image_.name = data.manifest().repo_tags.front();
    if (type == ElementType::config) {
      image_.image_id = Digest::sha256_of(data.config());
      image_.diff_ids = parse_config(data.config(), ctx_.limits).diff_ids;
    }
    if (type != ElementType::layer) return;
    const LayerInfo& info = data.layer();
    image_.sizes.push_back(info.compression == Compression::none ? info.stored.size : std::nullopt);
    if (data.body() == nullptr || spooled_->count(info.diff_id)) return;
    // A layer stored uncompressed in a file (a docker archive) is used where it lies, once its
    // bytes have been read and checked; anything else is decompressed into a temporary file.
    bool in_place = false;
    const DeltaLayerFile held = hold_layer(*data.body(), info.diff_id, ctx_.temp_dir, &in_place);
    if (in_place) log::verbose("base {}: layer {} used in place", source_, info.diff_id.short_str());
    else log::verbose("base {}: holding layer {} ({} bytes) for deltas", source_, info.diff_id.short_str(), held.size);
    spooled_->emplace(info.diff_id, held);
  }
  void finalize() override {}
  nlohmann::json result() const override { return {}; }

 private:
  std::string source_;
  const std::set<Digest>* wanted_;
  std::map<Digest, DeltaLayerFile>* spooled_;
  InventoryImage& image_;
  const RunContext& ctx_;
};

}  // namespace

BaseImages::BaseImages(std::vector<StageSpec> sources, const Registry& registry, const RunContext& ctx)
    : sources_(std::move(sources)), registry_(registry), ctx_(ctx) {
  ctx_.receiver.reset();
  ctx_.progress = nullptr;
}

BaseImages::~BaseImages() {
  // A run that failed does not wait for the rest of the bases: the prefetch stops at its next read.
  cancel_prefetch_ = true;
  if (prefetch_.valid()) prefetch_.wait();
}

const Inventory& BaseImages::inventory() {
  if (inventory_) return *inventory_;
  Inventory inv;
  for (const auto& source : sources_) {
    InventoryImage image;
    // A daemon can say what an image holds without sending it.
    if (auto summary = registry_.make_input(source, ctx_)->summary()) {
      image.name = summary->name;
      image.image_id = summary->image_id;
      image.diff_ids = summary->diff_ids;
      image.sizes.assign(image.diff_ids.size(), std::nullopt);
      inv.add_image(std::move(image));
      continue;
    }
    log::verbose("reading base image {}", source.text());
    run_pipeline(registry_, source, {}, std::make_unique<BaseCollector>(source.text(), nullptr, &spooled_, &image, ctx_), ctx_);
    inv.add_image(std::move(image));
  }
  inventory_ = std::move(inv);
  return *inventory_;
}

void BaseImages::prefetch_all_layers() {
  if (prefetch_.valid() || prefetched_ || sources_.empty()) return;
  inventory();  // built here: the other thread then only reads it
  prefetch_ = std::async(std::launch::async, [this] {
    CancellationScope scope(cancel_prefetch_);
    return collect_all_layers();
  });
}

void BaseImages::wait_for_prefetch() {
  if (prefetch_.valid()) prefetched_ = prefetch_.get();  // rethrows what the other thread threw
}

void BaseImages::fetch(const std::set<Digest>& wanted) {
  wait_for_prefetch();
  fetch_now(wanted);
}

void BaseImages::fetch_now(const std::set<Digest>& wanted) {
  const Inventory& inv = inventory();
  std::set<Digest> missing;
  for (const auto& d : wanted)
    if (!spooled_.count(d)) missing.insert(d);
  if (missing.empty()) return;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    bool has_any = false;
    for (const auto& d : inv.images()[i].diff_ids) has_any |= missing.count(d) > 0 && !spooled_.count(d);
    if (!has_any) continue;
    InventoryImage image;
    run_pipeline(registry_, sources_[i], {},
                 std::make_unique<BaseCollector>(sources_[i].text(), &missing, &spooled_, &image, ctx_), ctx_);
  }
  for (const auto& d : missing)
    if (!spooled_.count(d)) fail(Errc::not_found, "no base image has layer {}", d.str());
}

std::vector<DeltaLayerFile> BaseImages::all_layers() {
  wait_for_prefetch();
  if (prefetched_) return *prefetched_;
  return collect_all_layers();
}

std::vector<DeltaLayerFile> BaseImages::collect_all_layers() {
  std::set<Digest> every;
  std::vector<Digest> order;
  for (const auto& image : inventory().images())
    for (const auto& d : image.diff_ids)
      if (every.insert(d).second) order.push_back(d);
  fetch_now(every);
  std::vector<DeltaLayerFile> out;
  for (const auto& d : order) {
    DeltaLayerFile& f = spooled_.at(d);
    if (!f.index)
      f.index = std::make_shared<LayerTarIndex>(index_layer_tar(*f.file, f.offset, f.size, ctx_.limits, "base layer " + d.short_str()));
    out.push_back(f);
  }
  return out;
}

const DeltaLayerFile& BaseImages::layer(const Digest& diff_id) {
  wait_for_prefetch();
  auto it = spooled_.find(diff_id);
  if (it == spooled_.end()) fail(Errc::internal, "base layer {} was not fetched", diff_id.str());
  return it->second;
}

}  // namespace dd
