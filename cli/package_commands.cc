// info and list: what a delta package holds, read from its header alone (a split package's parts
// are all checked first).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <set>

#include "cli/cli_state.h"
#include "core/error.h"
#include "core/printable.h"
#include "core/progress.h"
#include "delta/delta_method.h"
#include "delta/delta_package.h"
#include "delta/package_parts.h"
#include "delta/package_trust.h"

namespace dd::cli {

PackageHeader read_package_file_header(const std::string& path, std::vector<std::string>* parts) {
  OpenedPackage opened = open_package(path);
  PackageHeader header = read_package_header(*opened.stream, Limits{}, opened.what);
  check_package_identity(opened, header.header_digest);
  if (parts != nullptr) *parts = opened.part_paths;
  return header;
}

std::string signature_status(const PackageHeader& h, const std::vector<std::string>& trust_files) {
  if (!h.signature) return "unsigned";
  if (!signature_matches(*h.signature, h.json)) return "BAD SIGNATURE: it does not match the header (damaged or forged)";
  const Trust trust = Trust::load(trust_files);
  for (const auto& k : trust.keys())
    if (k.public_key == h.signature->public_key) return fmt::format("signed by key {} (trusted: {})", h.signature->key_id(), k.path);
  return fmt::format("signed by key {} ({})", h.signature->key_id(),
                     trust.configured() ? "NOT among the trusted keys of " + trust.source() : "no trusted keys configured");
}

namespace {

std::uint64_t image_bytes(const PackageImage& h, bool& known) {
  std::uint64_t n = h.config_size;
  for (const auto& l : h.layers) {
    if (l.source_size) n += *l.source_size;
    else known = false;
  }
  return n;
}

std::map<std::string, int> ship_counts(const PackageImage& image) {
  std::map<std::string, int> counts;
  for (const auto& l : image.layers) counts[std::string(to_string(l.shipping))]++;
  return counts;
}

int run_info(const std::string& path, const GlobalFlags& global) {
  std::vector<std::string> parts;
  const PackageHeader h = read_package_file_header(path, &parts);
  bool known = true;
  std::uint64_t image = 0;
  std::size_t layers = 0;
  for (const auto& i : h.images) {
    image += image_bytes(i, known);
    layers += i.layers.size();
  }
  const std::uint64_t package = h.prefix_bytes + h.payload_bytes();
  const std::string signature = signature_status(h, {});
  if (global.json) {
    nlohmann::ordered_json j = h.to_json();
    auto images = nlohmann::ordered_json::array();
    for (const auto& i : h.images) {
      auto counts = ship_counts(i);
      bool image_known = true;
      nlohmann::ordered_json e{{"repo_tags", i.repo_tags}, {"image_id", i.config_digest.str()}, {"platform", i.platform},
                               {"layers", i.layers.size()}, {"reused", counts["reused"]}, {"packaged", counts["packaged"]},
                               {"delta", counts["delta"]}, {"full", counts["full"]}, {"payload_bytes", i.payload_bytes()}};
      const std::uint64_t bytes = image_bytes(i, image_known);
      if (image_known) e["image_bytes"] = bytes;
      images.push_back(e);
    }
    j["images"] = images;
    j.erase("image");
    j.erase("layers");
    j["summary"] = {{"images", h.images.size()}, {"layers", layers}, {"package_bytes", package},
                    {"base_layers", h.base_layers.size()}, {"signature", signature}, {"parts", parts}};
    if (known) j["summary"]["image_bytes"] = image;
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << fmt::format("package      {}\n", printable(path));
  std::cout << fmt::format("format       version {}, made by {} at {}\n", h.version, printable(h.tool), printable(h.created));
  std::cout << fmt::format("signature    {}\n", signature);
  if (!parts.empty()) std::cout << fmt::format("parts        {} ({} ... {})\n", parts.size(), parts.front(), parts.back());
  if (h.images.size() == 1) {
    const PackageImage& i = h.images.front();
    std::vector<std::string> tags;
    for (const auto& t : i.repo_tags) tags.push_back(printable(t));
    auto counts = ship_counts(i);
    std::cout << fmt::format("image        {}\n", i.config_digest.str());
    std::cout << fmt::format("tags         {}\n", tags.empty() ? "(none)" : fmt::format("{}", fmt::join(tags, ", ")));
    std::cout << fmt::format("platform     {}\n", printable(i.platform));
    std::cout << fmt::format("layers       {} ({} reused, {} delta, {} whole)\n", i.layers.size(), counts["reused"],
                             counts["delta"], counts["full"]);
  } else {
    std::cout << fmt::format("images       {}, {} layers in all\n", h.images.size(), layers);
    std::cout << fmt::format("  {:>2}  {:<30}  {:<19}  {:>6}  {:>6}  {:>8}  {:>5}  {:>5}  {:>10}\n", "#", "TAG", "IMAGE ID", "LAYERS",
                             "REUSED", "PACKAGED", "DELTA", "WHOLE", "PAYLOADS");
    std::size_t n = 0;
    for (const auto& i : h.images) {
      auto counts = ship_counts(i);
      std::cout << fmt::format("  {:>2}  {:<30}  {:<19}  {:>6}  {:>6}  {:>8}  {:>5}  {:>5}  {:>10}\n", n++,
                               printable(i.repo_tags.empty() ? std::string("(none)") : i.repo_tags.front()),
                               i.config_digest.short_str(), i.layers.size(), counts["reused"], counts["packaged"],
                               counts["delta"], counts["full"], human_bytes(i.payload_bytes()));
    }
  }
  std::cout << fmt::format("size         {} (header {}, payloads {})\n", human_bytes(package), human_bytes(h.prefix_bytes),
                           human_bytes(h.payload_bytes()));
  if (known && image > 0)
    std::cout << fmt::format("versus image {:.1f}% of {} as the sources stored {}\n", 100.0 * double(package) / double(image),
                             human_bytes(image), h.images.size() == 1 ? "it" : "them");
  std::cout << fmt::format("needs        {} base layer(s){}\n", h.base_layers.size(), h.base_layers.empty() ? "" : ":");
  for (const auto& b : h.base_layers) std::cout << fmt::format("  {}  {}\n", b.diff_id.str(), printable(b.image));
  return 0;
}

int run_list(const std::string& path, const GlobalFlags& global) {
  const PackageHeader h = read_package_file_header(path, nullptr);
  if (global.json) {
    const auto j = h.to_json();
    if (h.version == 1) {
      std::cout << j["layers"].dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return 0;
    }
    auto rows = nlohmann::ordered_json::array();
    for (std::size_t k = 0; k < h.images.size(); ++k)
      for (auto layer : j["images"][k]["layers"]) {
        layer["image"] = k;
        rows.push_back(layer);
      }
    std::cout << rows.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  const bool many = h.images.size() > 1;
  std::cout << fmt::format("{}{:>3}  {:<19}  {:<8}  {:<12}  {:>10}  {:>10}  {}\n", many ? "IMG  " : "", "#", "DIFF_ID", "SHIP",
                           "METHOD", "SIZE", "PAYLOAD", "BASES");
  for (std::size_t k = 0; k < h.images.size(); ++k) {
    std::size_t i = 0;
    for (const auto& l : h.images[k].layers) {
      std::string method = l.shipping == Shipping::full ? "layer/" + std::string(to_string(l.compression)) : l.method;
      std::vector<std::string> bases;
      for (const auto& b : l.bases) bases.push_back(b.short_str());
      const bool carries = l.shipping == Shipping::full || l.shipping == Shipping::delta;
      std::cout << fmt::format("{}{:>3}  {:<19}  {:<8}  {:<12}  {:>10}  {:>10}  {}\n", many ? fmt::format("{:>3}  ", k) : "", ++i,
                               l.diff_id.short_str(), to_string(l.shipping), method.empty() ? "-" : printable(method),
                               l.size ? human_bytes(*l.size) : "?", carries ? human_bytes(l.payload_size) : "-",
                               bases.empty() ? "-" : fmt::format("{}", fmt::join(bases, " ")));
    }
  }
  return 0;
}

}  // namespace

void add_package_commands(CLI::App& app, CliState& state) {
  auto info_path = std::make_shared<std::string>();
  CLI::App* info = app.add_subcommand("info", "Summarise a delta package from its header (images, sizes, saving, signature, bases needed)");
  info->add_option("PACKAGE", *info_path, "the package file (of a split package: PACKAGE or any part)")->required();
  info->footer("Example:\n  docker_delta info update.ddelta");
  info->callback([&state, info_path] { state.action = [&state, info_path] { return run_info(*info_path, state.global); }; });

  auto list_path = std::make_shared<std::string>();
  CLI::App* list = app.add_subcommand("list", "One row per layer of a delta package: how it ships, sizes");
  list->add_option("PACKAGE", *list_path, "the package file (of a split package: PACKAGE or any part)")->required();
  list->footer("Example:\n  docker_delta list update.ddelta --json");
  list->callback([&state, list_path] { state.action = [&state, list_path] { return run_list(*list_path, state.global); }; });
}

}  // namespace dd::cli
