// The built-in delta methods, each defined in its own file here and listed in
// delta/delta_methods.cc.
#pragma once

#include "delta/delta_method.h"

namespace dd {

const DeltaMethod& zstd_delta_method();     // tar-aware zstd with reference prefixes (delta/zstd/)
const DeltaMethod& suffix_delta_method();   // the same payload, every changed file patched (zstd_method.cc)
const DeltaMethod& xdelta3_delta_method();  // VCDIFF by the xdelta3 program, one base
const DeltaMethod& bsdiff_delta_method();   // bsdiff's patch format, one base

}  // namespace dd
