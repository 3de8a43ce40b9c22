// info and list: what a delta package holds, read from its header alone.
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

namespace dd::cli {

PackageHeader read_package_file_header(const std::string& path) {
  UniqueFd fd(path == "-" ? ::dup(0) : open_for_reading(path).release());
  SequentialFdStream in(std::move(fd), "package " + path);
  return read_package_header(in, Limits{}, path == "-" ? "package on standard input" : "package " + path);
}

namespace {

std::uint64_t image_bytes(const PackageHeader& h, bool& known) {
  std::uint64_t n = h.config_size;
  known = true;
  for (const auto& l : h.layers) {
    if (l.source_size) n += *l.source_size;
    else known = false;
  }
  return n;
}

int run_info(const std::string& path, const GlobalFlags& global) {
  const PackageHeader h = read_package_file_header(path);
  bool known = false;
  const std::uint64_t image = image_bytes(h, known);
  const std::uint64_t package = h.prefix_bytes + h.payload_bytes();
  std::map<std::string, int> counts;
  for (const auto& l : h.layers) counts[std::string(to_string(l.shipping))]++;
  if (global.json) {
    nlohmann::ordered_json j = h.to_json();
    j.erase("layers");
    j["summary"] = {{"layers", h.layers.size()}, {"reused", counts["reused"]}, {"delta", counts["delta"]},
                    {"full", counts["full"]}, {"package_bytes", package}, {"base_layers", h.base_layers.size()}};
    if (known) j["summary"]["image_bytes"] = image;
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::vector<std::string> tags;
  for (const auto& t : h.repo_tags) tags.push_back(printable(t));
  std::cout << fmt::format("package      {}\n", printable(path));
  std::cout << fmt::format("format       version {}, made by {} at {}\n", h.version, printable(h.tool), printable(h.created));
  std::cout << fmt::format("image        {}\n", h.config_digest.str());
  std::cout << fmt::format("tags         {}\n", tags.empty() ? "(none)" : fmt::format("{}", fmt::join(tags, ", ")));
  std::cout << fmt::format("platform     {}\n", printable(h.platform));
  std::cout << fmt::format("layers       {} ({} reused, {} delta, {} whole)\n", h.layers.size(), counts["reused"],
                           counts["delta"], counts["full"]);
  std::cout << fmt::format("size         {} (header {}, payloads {})\n", human_bytes(package), human_bytes(h.prefix_bytes),
                           human_bytes(h.payload_bytes()));
  if (known && image > 0)
    std::cout << fmt::format("versus image {:.1f}% of its {} as the source stored it\n",
                             100.0 * double(package) / double(image), human_bytes(image));
  std::cout << fmt::format("needs        {} base layer(s){}\n", h.base_layers.size(), h.base_layers.empty() ? "" : ":");
  for (const auto& b : h.base_layers) std::cout << fmt::format("  {}  {}\n", b.diff_id.str(), printable(b.image));
  return 0;
}

int run_list(const std::string& path, const GlobalFlags& global) {
  const PackageHeader h = read_package_file_header(path);
  if (global.json) {
    std::cout << h.to_json()["layers"].dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:>3}  {:<19}  {:<7}  {:<12}  {:>10}  {:>10}  {}\n", "#", "DIFF_ID", "SHIP", "METHOD", "SIZE", "PAYLOAD", "BASES");
  std::size_t i = 0;
  for (const auto& l : h.layers) {
    std::string method = l.shipping == Shipping::full ? "layer/" + std::string(to_string(l.compression)) : l.method;
    std::vector<std::string> bases;
    for (const auto& b : l.bases) bases.push_back(b.short_str());
    std::cout << fmt::format("{:>3}  {:<19}  {:<7}  {:<12}  {:>10}  {:>10}  {}\n", ++i, l.diff_id.short_str(),
                             to_string(l.shipping), method.empty() ? "-" : printable(method), l.size ? human_bytes(*l.size) : "?",
                             l.shipping == Shipping::reused ? "-" : human_bytes(l.payload_size),
                             bases.empty() ? "-" : fmt::format("{}", fmt::join(bases, " ")));
  }
  return 0;
}

}  // namespace

void add_package_commands(CLI::App& app, CliState& state) {
  auto info_path = std::make_shared<std::string>();
  CLI::App* info = app.add_subcommand("info", "Summarise a delta package from its header (sizes, saving, bases needed)");
  info->add_option("PACKAGE", *info_path, "the package file")->required();
  info->callback([&state, info_path] { state.action = [&state, info_path] { return run_info(*info_path, state.global); }; });

  auto list_path = std::make_shared<std::string>();
  CLI::App* list = app.add_subcommand("list", "One row per layer of a delta package: how it ships, sizes");
  list->add_option("PACKAGE", *list_path, "the package file")->required();
  list->callback([&state, list_path] { state.action = [&state, list_path] { return run_list(*list_path, state.global); }; });
}

}  // namespace dd::cli
