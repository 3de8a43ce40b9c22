#include "delta/delta_method.h"

#include "delta/methods/methods.h"

namespace dd {

const std::vector<const DeltaMethod*>& delta_methods() {
  // One line per method; the first is the default.
  static const std::vector<const DeltaMethod*> methods{
      &zstd_delta_method(),
      &suffix_delta_method(),
      &xdelta3_delta_method(),
      &bsdiff_delta_method(),
  };
  return methods;
}

const DeltaMethod* find_delta_method(std::string_view name) {
  for (const DeltaMethod* m : delta_methods())
    if (m->name() == name) return m;
  return nullptr;
}

std::string delta_method_list(std::string_view separator) {
  std::string list;
  for (const DeltaMethod* m : delta_methods()) {
    if (!list.empty()) list += separator;
    list += m->name();
  }
  return list;
}

}  // namespace dd
