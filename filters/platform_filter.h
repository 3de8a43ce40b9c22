// Filter "platform:OS/ARCH[/VARIANT]": picks one image from a multi-platform index. Without a
// request it prefers the host's platform; a source with one image passes unless a platform was
// asked for explicitly and the image's config names another.
#pragma once

#include <optional>

#include "pipeline/registry.h"

namespace dd {

class PlatformFilter : public Filter {
 public:
  PlatformFilter(Stage& next, Platform wanted, bool explicit_request, const Limits& limits);
  bool fetch_callback(const Digest& digest, BlobKind kind) override;
  void process_image_element(ElementType type, const std::string& name, ElementData& data) override;

 private:
  void choose(const IndexInfo& index);

  Platform wanted_;
  bool explicit_;
  Limits limits_;
  std::vector<Digest> index_digests_;
  std::optional<Digest> chosen_;
  bool chosen_has_platform_ = false;
};

void register_platform_filter(Registry& registry);

}  // namespace dd
