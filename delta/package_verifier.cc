#include "delta/package_verifier.h"

#include <map>
#include <set>

#include "core/error.h"
#include "core/interruption.h"
#include "core/log.h"
#include "core/temp_file.h"
#include "delta/base_images.h"
#include "delta/layer_sources.h"
#include "delta/package_layer_decoder.h"
#include "formats/image/manifest_parser.h"

namespace dd {

bool PackageVerdict::ok() const {
  for (const auto& i : images)
    if (!i.ok) return false;
  return true;
}

nlohmann::json PackageVerdict::to_json() const {
  auto images_json = nlohmann::json::array();
  for (const auto& i : images) {
    auto layers = nlohmann::json::array();
    for (const auto& l : i.layers)
      layers.push_back({{"layer", l.layer + 1}, {"diff_id", l.diff_id.str()}, {"ship", to_string(l.shipping)}, {"ok", l.ok},
                        {"detail", l.detail}});
    nlohmann::json e{{"name", i.name}, {"image_id", i.image_id.str()}, {"ok", i.ok}, {"layers", layers}};
    if (!i.problem.empty()) e["problem"] = i.problem;
    images_json.push_back(e);
  }
  return {{"ok", ok()}, {"decoded", decoded}, {"images", images_json}};
}

PackageVerdict verify_package(const PackageHeader& header, ByteStream& in, BaseImages* bases, const Inventory* have,
                              const RunContext& ctx, const std::string& what) {
  PackageVerdict verdict;
  verdict.decoded = bases != nullptr;
  if (bases) {
    // Every receiver layer the package reads, spooled once; a base that lacks one is named
    // per layer below rather than ending the check here.
    std::set<Digest> needed, present;
    for (const auto& b : header.base_layers) needed.insert(b.diff_id);
    for (const auto& d : needed)
      if (bases->inventory().image_with_layer(d)) present.insert(d);
    bases->fetch(present);
  }
  auto receiver_has = [&](const Digest& d) {
    if (bases) return bases->inventory().image_with_layer(d).has_value();
    return have != nullptr && have->image_with_layer(d).has_value();
  };
  std::map<Digest, std::string> carried;  // layers earlier images carry -> their image's name
  // Carried layers that a later image's delta reads as a base: kept as they are rebuilt.
  const LayerSources sources(header);
  std::set<Digest> carried_bases;
  for (std::size_t k = 0; k < header.images.size(); ++k)
    for (const auto& l : header.images[k].layers)
      for (const auto& b : l.bases)
        if (sources.carrier(b, k)) carried_bases.insert(b);
  std::map<Digest, DeltaLayerFile> rebuilt_bases;
  std::vector<char> buffer(kBlockSize);
  for (std::size_t k = 0; k < header.images.size(); ++k) {
    const PackageImage& image = header.images[k];
    ImageVerdict iv{image.name(), image.config_digest, true, {}, {}};
    std::string config(image.config_size, '\0');
    read_exact(in, config.data(), config.size(), what);
    try {
      if (Digest::sha256_of(config) != image.config_digest) fail(Errc::integrity, "the image config is damaged (digest mismatch)");
      const ConfigFacts facts = parse_config(config, ctx.limits);
      if (facts.diff_ids.size() != image.layers.size())
        fail(Errc::bad_input, "the config names {} layers but the package lists {}", facts.diff_ids.size(), image.layers.size());
      for (std::size_t i = 0; i < facts.diff_ids.size(); ++i)
        if (facts.diff_ids[i] != image.layers[i].diff_id)
          fail(Errc::bad_input, "layer {} is {} in the package but {} in the config", i + 1, image.layers[i].diff_id.short_str(),
               facts.diff_ids[i].short_str());
    } catch (const Error& e) {
      iv.ok = false;
      iv.problem = e.what();
    }
    for (std::size_t i = 0; i < image.layers.size(); ++i) {
      throw_if_interrupted();
      const PackageLayer& l = image.layers[i];
      LayerVerdict lv{k, i, l.diff_id, l.shipping, true, {}};
      const std::string layer_what = fmt::format("{} image {} layer {}/{} {}", what, k + 1, i + 1, image.layers.size(), l.diff_id.short_str());
      // The payload is read whatever its verdict: what follows it must be read too. It is
      // hashed as it is read, and kept for the decoder when there are bases.
      std::optional<Digest> payload_digest;
      std::shared_ptr<UniqueFd> payload;
      if (l.shipping == Shipping::full || l.shipping == Shipping::delta) {
        if (bases) payload = std::make_shared<UniqueFd>(make_unlinked_temp_file(ctx.temp_dir));
        Hasher hash;
        std::uint64_t left = l.payload_size;
        while (left > 0) {
          const std::size_t n = in.read(buffer.data(), std::min<std::uint64_t>(left, buffer.size()));
          if (n == 0) fail(Errc::bad_input, "{} is truncated: its payload ends {} bytes early", layer_what, left);
          hash.update(buffer.data(), n);
          if (payload) write_all(payload->get(), buffer.data(), n, "temporary payload file");
          left -= n;
        }
        payload_digest = hash.finish();
        carried.emplace(l.diff_id, image.name());
      }
      try {
        if (l.shipping == Shipping::reused) {
          if (bases == nullptr && have == nullptr) lv.detail = "the receiver's: not checked (no --base or --inventory)";
          else if (!receiver_has(l.diff_id)) fail(Errc::not_found, "the receiver lacks this layer");
          else lv.detail = "the receiver has it";
        } else if (l.shipping == Shipping::packaged) {
          lv.detail = "travels with " + carried.at(l.diff_id);
        } else {
          if (*payload_digest != *l.payload_digest) fail(Errc::integrity, "the payload is damaged (digest mismatch)");
          lv.detail = "payload digest checked";
          if (bases) {
            std::vector<DeltaLayerFile> from;
            for (const auto& b : l.bases) {
              if (const auto c = sources.carrier(b, k)) {
                auto it = rebuilt_bases.find(b);
                if (it == rebuilt_bases.end())
                  fail(Errc::integrity, "its base layer {} (carried by image {}) did not rebuild", b.short_str(), c->image + 1);
                from.push_back(it->second);
              } else {
                if (!receiver_has(b)) fail(Errc::not_found, "the receiver lacks base layer {}", b.short_str());
                from.push_back(bases->layer(b));
              }
            }
            // Kept when a later delta reads it: the first carrier is the one later images use.
            std::optional<DeltaLayerFile> keep;
            if (carried_bases.count(l.diff_id) && !rebuilt_bases.count(l.diff_id) && !sources.carrier(l.diff_id, k)) {
              keep.emplace();
              keep->diff_id = l.diff_id;
              keep->file = std::make_shared<UniqueFd>(make_unlinked_temp_file(ctx.temp_dir));
            }
            Hasher rebuilt;
            decode_package_layer(l, payload, from, [&](const char* p, std::size_t n) {
              rebuilt.update(p, n);
              if (keep) {
                write_all(keep->file->get(), p, n, "temporary layer file");
                keep->size += n;
              }
            }, layer_what);
            if (rebuilt.finish() != l.diff_id) fail(Errc::integrity, "it does not rebuild the layer (its diff_id differs)");
            if (keep) rebuilt_bases.emplace(l.diff_id, std::move(*keep));
            lv.detail = l.shipping == Shipping::delta ? l.method + " delta decoded, diff_id checked" : "decompressed, diff_id checked";
          }
        }
      } catch (const Error& e) {
        if (e.code() == Errc::io) throw;  // interrupted, or a disk that refuses: not a verdict on the package
        lv.ok = false;
        lv.detail = e.what();
        iv.ok = false;
      }
      log::verbose("{}: {}", layer_what, lv.detail);
      iv.layers.push_back(std::move(lv));
    }
    verdict.images.push_back(std::move(iv));
  }
  char extra;
  if (in.read(&extra, 1) != 0) fail(Errc::bad_input, "{} has bytes after its last payload", what);
  return verdict;
}

}  // namespace dd
