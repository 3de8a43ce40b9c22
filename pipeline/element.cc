#include "pipeline/element.h"

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

}  // namespace dd
