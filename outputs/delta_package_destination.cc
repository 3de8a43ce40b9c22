#include "outputs/delta_package_destination.h"

#include <unistd.h>

#include <chrono>
#include <ctime>

#include "core/error.h"
#include "core/interruption.h"
#include "core/log.h"
#include "delta/package_layer_decoder.h"
#include "delta/package_parts.h"
#include "delta/package_trust.h"
#include "delta/receiver.h"
#include "stores/package_file_writer.h"

namespace dd {
namespace {

std::string utc_now() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

nlohmann::json image_result(const PackagedImage& image) {
  std::uint64_t source_bytes = image.config.size();
  bool source_known = true;
  auto layers = nlohmann::json::array();
  for (const auto& l : image.header.layers) {
    nlohmann::json e{{"diff_id", l.diff_id.str()}, {"ship", to_string(l.shipping)}, {"payload_bytes", l.payload_size}};
    if (l.size) e["size"] = *l.size;
    if (l.shipping == Shipping::full || l.shipping == Shipping::delta) e["method"] = l.method;
    if (l.shipping == Shipping::full) e["compression"] = to_string(l.compression);
    layers.push_back(e);
    if (l.source_size) source_bytes += *l.source_size;
    else source_known = false;
  }
  nlohmann::json j{{"image_id", image.header.config_digest.str()}, {"repo_tags", image.header.repo_tags},
                   {"layers", image.header.layers.size()}, {"bytes", image.header.payload_bytes()}, {"layer_list", layers}};
  if (source_known) j["source_bytes"] = source_bytes;
  return j;
}

}  // namespace

DeltaPackageDestination::DeltaPackageDestination(PackageWriteSettings settings, const RunContext& ctx)
    : settings_(std::move(settings)), ctx_(ctx) {
  ctx_.multi_image.reset();  // the context is kept, but not the slot that holds this
  if (settings_.path.empty()) fail(Errc::usage, "delta needs a path: delta:PACKAGE");
  if (settings_.dry_run) {
    if (!ctx.force && (::access(settings_.path.c_str(), F_OK) == 0 || ::access(part_path(settings_.path, 1).c_str(), F_OK) == 0))
      fail(Errc::exists, "{} exists (use --force to replace it)", settings_.path);
  } else {
    writer_ = std::make_unique<PackageFileWriter>(settings_.path, settings_.split_size, ctx.force);
  }
  if (!settings_.sign_key.empty()) sign_package_header("probe", settings_.sign_key);  // a bad key fails before any work
}

DeltaPackageDestination::~DeltaPackageDestination() = default;

std::optional<std::string> DeltaPackageDestination::image_carrying(const Digest& diff_id) const {
  if (auto it = carried_.find(diff_id); it != carried_.end()) return it->second;
  return std::nullopt;
}

void DeltaPackageDestination::add(PackagedImage image) {
  for (const auto& l : image.header.layers)
    if (l.shipping == Shipping::full || l.shipping == Shipping::delta) carried_.emplace(l.diff_id, image.header.name());
  images_.push_back(std::move(image));
}

PackageHeader DeltaPackageDestination::make_header() const {
  PackageHeader h;
  h.tool = std::string("docker_delta ") + DOCKER_DELTA_VERSION;
  h.created = utc_now();
  std::map<Digest, std::string> bases;
  for (const auto& image : images_) {
    h.images.push_back(image.header);
    bases.insert(image.bases.begin(), image.bases.end());
  }
  for (const auto& [diff_id, name] : bases) h.base_layers.push_back({diff_id, name});
  return h;
}

nlohmann::json DeltaPackageDestination::commit() {
  if (images_.empty()) fail(Errc::internal, "{}: no image arrived", settings_.path);
  PackageHeader header = make_header();
  const std::string json = package_header_json(header);
  std::optional<PackageSignature> signature;
  if (!settings_.sign_key.empty()) signature = sign_package_header(json, settings_.sign_key);
  const std::string prefix = package_prefix(json, signature);
  const std::uint64_t total = prefix.size() + header.payload_bytes();
  std::vector<std::string> parts;
  if (!settings_.dry_run) {
    writer_->begin(total, Digest::sha256_of(json));
    writer_->write(prefix.data(), prefix.size());
    for (const auto& image : images_) {
      writer_->write(image.config.data(), image.config.size());
      std::size_t i = 0;
      for (const auto& l : image.header.layers) {
        if (l.shipping != Shipping::full && l.shipping != Shipping::delta) continue;
        throw_if_interrupted();
        FileRangeStream bytes(image.payloads.at(i++), 0, l.payload_size, "temporary payload file");
        copy_stream(bytes, [&](const char* p, std::size_t n) { writer_->write(p, n); });
      }
    }
    writer_->finish();
    header.json = json;
    header.signature = signature;
    verify_written(header);
    writer_->commit();
    if (settings_.split_size != 0) parts = writer_->paths();
  }
  auto images = nlohmann::json::array();
  for (const auto& image : images_) images.push_back(image_result(image));
  // One image: its figures at the top, as before stacks.
  nlohmann::json result = images.size() == 1 ? images[0] : nlohmann::json{{"image_id", images[0]["image_id"]}};
  result["destination"] = "delta:" + settings_.path;
  result["bytes"] = total;
  result["dry_run"] = settings_.dry_run;
  result["images"] = images;
  result["base_layers"] = header.base_layers.size();
  if (!parts.empty()) result["parts"] = parts;
  result["signed_by"] = signature ? nlohmann::json(signature->key_id()) : nlohmann::json(nullptr);
  if (images.size() > 1) {
    std::uint64_t source = 0;
    bool known = true;
    for (const auto& i : images) {
      if (i.contains("source_bytes")) source += i["source_bytes"].get<std::uint64_t>();
      else known = false;
    }
    if (known) result["source_bytes"] = source;
  }
  return result;
}

// Proves the package applies before it takes the destination's name: it is opened and its
// header read back by the code `apply` uses, every payload is checked against its digest, and
// (unless --no-verify) decoded against the bases it names, with the diff_id of what comes out
// checked.
void DeltaPackageDestination::verify_written(const PackageHeader& header) {
  OpenedPackage opened = writer_->reopen();
  const std::string& what = opened.what;
  ByteStream& in = *opened.stream;
  const PackageHeader read_back = read_package_header(in, ctx_.limits, what);
  check_package_identity(opened, read_back.header_digest);
  if (read_back.json != header.json || read_back.to_json() != header.to_json())
    fail(Errc::internal, "{}: its header does not read back as written", what);
  if (header.signature && (!read_back.signature || !signature_matches(*read_back.signature, read_back.json)))
    fail(Errc::internal, "{}: its signature does not verify", what);
  for (std::size_t k = 0; k < read_back.images.size(); ++k) {
    const PackageImage& image = read_back.images[k];
    std::string config(image.config_size, '\0');
    read_exact(in, config.data(), config.size(), what);
    if (config != images_[k].config) fail(Errc::internal, "{}: a config does not read back as written", what);
    std::size_t payload_index = 0;
    for (std::size_t i = 0; i < image.layers.size(); ++i) {
      const PackageLayer& l = image.layers[i];
      if (l.shipping != Shipping::full && l.shipping != Shipping::delta) continue;
      throw_if_interrupted();
      const std::string layer_what = fmt::format("{} {} layer {}/{} {}", what, image.name(), i + 1, image.layers.size(), l.diff_id.short_str());
      Hasher file_hash;
      std::uint64_t left = l.payload_size;
      std::vector<char> buffer(kBlockSize);
      while (left > 0) {
        const std::size_t n = in.read(buffer.data(), std::min<std::uint64_t>(left, buffer.size()));
        if (n == 0) fail(Errc::internal, "{}: the package ends inside the payload", layer_what);
        file_hash.update(buffer.data(), n);
        left -= n;
      }
      if (file_hash.finish() != *l.payload_digest) fail(Errc::internal, "{}: the payload does not read back as written", layer_what);
      const auto& payload = images_[k].payloads.at(payload_index++);
      if (settings_.verify) decode_and_check(l, payload, layer_what);
    }
  }
  char extra;
  if (in.read(&extra, 1) != 0) fail(Errc::internal, "{} has bytes after its last payload", what);
}

void DeltaPackageDestination::decode_and_check(const PackageLayer& l, const std::shared_ptr<UniqueFd>& payload,
                                               const std::string& what) {
  std::vector<DeltaLayerFile> bases;
  for (const auto& b : l.bases) {
    // A layer an earlier image carries: the new layer itself, whose own payload is checked too.
    const DeltaLayerFile* carried = ctx_.receiver->carried_layer(b);
    bases.push_back(carried ? *carried : ctx_.receiver->bases->layer(b));
  }
  Hasher h;
  decode_package_layer(l, payload, bases, [&](const char* p, std::size_t n) { h.update(p, n); }, what);
  if (h.finish() != l.diff_id)
    fail(Errc::internal, "{}: the {} payload does not rebuild the layer (its diff_id differs); nothing was written", what,
         l.shipping == Shipping::delta ? l.method + " delta" : "whole-layer");
  log::verbose("{}: decoded back, diff_id checked", what);
}

}  // namespace dd
