#include "filters/dedupe_filter.h"

#include "core/error.h"
#include "core/log.h"
#include "delta/receiver.h"

namespace dd {
namespace {

class DedupeFilter : public Filter {
 public:
  DedupeFilter(Stage& next, std::shared_ptr<Receiver> receiver) : Filter(next), receiver_(std::move(receiver)) {}
  bool fetch_callback(const Digest& digest, BlobKind kind) override {
    if (kind == BlobKind::layer && receiver_->image_with_layer(digest)) return false;
    return next_.fetch_callback(digest, kind);
  }
  void process_image_element(ElementType type, const std::string& name, ElementData& data) override {
    if (type == ElementType::layer && data.body() == nullptr) {
      if (auto image = receiver_->image_with_layer(data.layer().diff_id))
        log::verbose("layer {}/{} {}: the receiver has it (in {})", data.layer().index + 1, data.layer().count,
                     data.layer().diff_id.short_str(), *image);
    }
    next_.process_image_element(type, name, data);
  }

 private:
  std::shared_ptr<Receiver> receiver_;
};

}  // namespace

void register_dedupe_filter(Registry& registry) {
  registry.add_filter("dedupe", "dedupe", "skip layers the receiver has (needs --base or --inventory)",
                      [](const StageSpec& spec, Stage& next, const RunContext& ctx) -> std::unique_ptr<Filter> {
                        check_options(spec, {});
                        if (!spec.argument.empty()) fail(Errc::usage, "dedupe takes no argument");
                        if (!ctx.receiver)
                          fail(Errc::usage, "dedupe needs to know what the receiver has: give --base SOURCE or --inventory FILE");
                        return std::make_unique<DedupeFilter>(next, ctx.receiver);
                      });
}

}  // namespace dd
