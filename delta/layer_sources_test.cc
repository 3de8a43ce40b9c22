#include "delta/layer_sources.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

Digest d(char c) { return Digest::parse("sha256:" + std::string(64, c)); }

PackageLayer layer(char id, Shipping ship, std::vector<Digest> bases = {}, std::uint64_t payload = 0) {
  PackageLayer l;
  l.diff_id = d(id);
  l.shipping = ship;
  l.bases = std::move(bases);
  l.payload_size = payload;
  if (ship == Shipping::full || ship == Shipping::delta) l.size = 1000;
  return l;
}

PackageImage image(std::uint64_t config_size, std::vector<PackageLayer> layers) {
  PackageImage i;
  i.config_size = config_size;
  i.layers = std::move(layers);
  return i;
}

// Image 0: receiver layer r, then b (a delta against the receiver's a), then f (whole).
// Image 1: b again (packaged), then e, a delta against b (carried by image 0) and the receiver's c.
// Image 2: g, a delta against e (carried by image 1).
PackageHeader stack() {
  PackageHeader h;
  h.prefix_bytes = 1000;
  h.images.push_back(image(10, {layer('1', Shipping::reused), layer('b', Shipping::delta, {d('a')}, 100),
                                layer('f', Shipping::full, {}, 50)}));
  h.images.push_back(image(20, {layer('b', Shipping::packaged), layer('e', Shipping::delta, {d('b'), d('c')}, 70)}));
  h.images.push_back(image(30, {layer('9', Shipping::delta, {d('e')}, 5)}));
  return h;
}

TEST(LayerSourcesTest, FindsTheFirstEarlierCarrierAndWhereItsPayloadStarts) {
  const PackageHeader h = stack();
  const LayerSources sources(h);
  const auto b = sources.carrier(d('b'), 1);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->image, 0u);
  EXPECT_EQ(b->offset, 1000u + 10);
  const auto e = sources.carrier(d('e'), 2);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset, 1000u + 10 + 100 + 50 + 20);
  EXPECT_FALSE(sources.carrier(d('e'), 1));  // only earlier images count
  EXPECT_FALSE(sources.carrier(d('a'), 3));  // the receiver's
  EXPECT_EQ(&sources.payload_entry(h.images[1].layers[0], 1), &h.images[0].layers[1]);
  EXPECT_EQ(&sources.payload_entry(h.images[1].layers[1], 1), &h.images[1].layers[1]);
}

TEST(LayerSourcesTest, ReceiverLayersAreFollowedThroughCarriedBases) {
  const PackageHeader h = stack();
  const LayerSources sources(h);
  EXPECT_EQ(sources.receiver_layers_needed(0), (std::set<Digest>{d('1'), d('a')}));
  EXPECT_EQ(sources.receiver_layers_needed(1), (std::set<Digest>{d('a'), d('c')}));
  // Image 2 alone reads no receiver layer of its own, but e's and, through b, a's.
  EXPECT_EQ(sources.receiver_layers_needed(2), (std::set<Digest>{d('a'), d('c')}));
  // Only the wanted layers: the destination has image 1's e already.
  EXPECT_EQ(sources.receiver_layers_needed(1, {true, false}), (std::set<Digest>{d('a')}));
}

TEST(LayerSourcesTest, APackagedLayerWithNoCarrierIsRefused) {
  PackageHeader h = stack();
  h.images[0].layers[1].shipping = Shipping::packaged;
  const LayerSources sources(h);
  EXPECT_THROW(sources.payload_entry(h.images[0].layers[1], 0), Error);
  EXPECT_TRUE(sources.receiver_layers_needed(0).count(d('1')));
}

}  // namespace
}  // namespace dd
