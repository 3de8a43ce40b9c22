// The tar index a delta encoder builds over a layer: whatever the headers claim, every member it
// returns lies inside the file.
#include <cstdio>

#include "formats/archive/layer_tar_index.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dd;
  const UniqueFd file = fuzz::memory_file({reinterpret_cast<const char*>(data), size});
  Limits limits;
  limits.max_archive_members = 1000;
  fuzz::refusal_is_fine([&] {
    const LayerTarIndex index = index_layer_tar(file, 0, size, limits, "layer");
    DD_FUZZ_CHECK(index.members.size() <= limits.max_archive_members);
    for (const LayerMember& m : index.members) {
      DD_FUZZ_CHECK(m.header_offset <= m.data_offset);
      DD_FUZZ_CHECK(m.data_offset <= size && m.size <= size - m.data_offset);
    }
  });
  return 0;
}
