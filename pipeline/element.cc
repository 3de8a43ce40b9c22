#include "pipeline/element.h"

#include "core/error.h"

namespace dd {

std::string_view to_string(ElementType type) {
  switch (type) {
    case ElementType::index: return "index";
    case ElementType::manifest: return "manifest";
    case ElementType::config: return "config";
    case ElementType::layer: return "layer";
  }
  return "?";
}

const ElementData::Value& ElementData::check(ElementType wanted) const {
  if (type() != wanted) fail(Errc::internal, "a stage asked a {} element for its {}", to_string(type()), to_string(wanted));
  return value_;
}

}  // namespace dd
