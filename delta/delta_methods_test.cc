// Every registered delta method, driven through the DeltaMethod interface only, as the delta
// filter and the package decoder drive it.
#include "delta/delta_method.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "core/temp_file.h"
#include "formats/archive/tar_writer.h"
#include "tests/support/layer_file.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {


std::string text(std::size_t lines, int variant) {
  std::string s;
  for (std::size_t i = 0; i < lines; ++i) s += "line " + std::to_string(i * 7 + (i % 50 == 0 ? variant : 0)) + "\n";
  return s;
}

TEST(DeltaMethods, TheListNamesEachMethodOnceWithTheDefaultFirst) {
  ASSERT_FALSE(delta_methods().empty());
  EXPECT_EQ(delta_methods().front()->name(), "zstd");
  EXPECT_EQ(delta_method_list(), "zstd, suffix, xdelta3, bsdiff");
  EXPECT_EQ(delta_method_list("|"), "zstd|suffix|xdelta3|bsdiff");
  for (const DeltaMethod* m : delta_methods()) EXPECT_EQ(find_delta_method(m->name()), m);
  EXPECT_EQ(find_delta_method("layer"), nullptr);  // a whole layer is not a delta method
  EXPECT_EQ(find_delta_method("ZSTD"), nullptr);
  EXPECT_EQ(find_delta_method(""), nullptr);
  EXPECT_EQ(find_delta_method("xdelta3")->bases_per_payload(), 1u);
  EXPECT_EQ(find_delta_method("zstd")->bases_per_payload(), 0u);
}

TEST(DeltaMethods, EachRebuildsAChangedLayerExactlyFromWhatItsPayloadNames) {
  TempDir dir;
  const std::vector<DeltaLayerFile> bases{
      make_layer_file(dir, "unrelated", {{"other/file", text(2000, 9)}}),
      make_layer_file(dir, "old", {{"app/main.js", text(4000, 0)}, {"app/data", text(3000, 1)}}),
  };
  const DeltaLayerFile layer = make_layer_file(dir, "new", {{"app/main.js", text(4000, 3)}, {"app/data", text(3000, 1)}});
  std::string want(layer.size, '\0');
  layer.read(0, layer.size, want.data(), "new");
  for (const DeltaMethod* method : delta_methods()) {
    SCOPED_TRACE(std::string(method->name()));
    auto encoder = method->make_encoder(bases, DeltaSettings{}, Limits{});
    auto payload = std::make_shared<UniqueFd>(make_unlinked_temp_file(dir.path()));
    const DeltaEncoder::Result result = encoder->encode(layer, payload->get(), "new");
    ASSERT_FALSE(result.bases.empty());
    if (method->bases_per_payload() != 0) {
      EXPECT_EQ(result.bases.size(), method->bases_per_payload());
      EXPECT_EQ(result.bases.front(), bases[1].diff_id) << "the base most like the layer";
    }
    const auto payload_size = static_cast<std::uint64_t>(::lseek(payload->get(), 0, SEEK_END));
    EXPECT_LT(payload_size, layer.size / 4) << "a delta of a small change is small";
    std::vector<DeltaLayerFile> named;
    for (const Digest& d : result.bases)
      for (const auto& b : bases)
        if (b.diff_id == d) named.push_back(b);
    ASSERT_EQ(named.size(), result.bases.size());
    std::string got;
    method->decode(payload, payload_size, named, layer.size, [&](const char* p, std::size_t n) { got.append(p, n); }, "new");
    EXPECT_TRUE(got == want) << "rebuilt " << got.size() << " bytes of " << want.size();
    // A declared size one byte short must be refused, not written past.
    EXPECT_THROW(method->decode(payload, payload_size, named, layer.size - 1, [](const char*, std::size_t) {}, "new"), Error);
  }
}

}  // namespace
}  // namespace dd
