// The delta package commands: create (and archive-to-delta), apply (and delta-to-archive,
// delta-to-oci), info, list, and inventory, which records what a receiving machine has.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/builtin_stages.h"
#include "cli/cli_state.h"
#include "clients/docker/daemon_images.h"
#include "core/error.h"
#include "core/printable.h"
#include "core/progress.h"
#include "delta/delta_method.h"
#include "delta/delta_package.h"
#include "delta/receiver.h"
#include "formats/image/image_reference.h"
#include "inputs/archive_input.h"
#include "pipeline/runner.h"
#include "stores/atomic_destination.h"
#include <set>

namespace dd::cli {
namespace {

StageSpec source_spec(const std::string& text, const char* bare_kind) {
  std::string s = text;
  if (bare_kind != nullptr && !has_kind_prefix(s, Registry::Role::input)) s = std::string(bare_kind) + ":" + s;
  return parse_stage_spec(qualify_source(s, builtin_registry()));
}

// ---- create -----------------------------------------------------------------------------------

struct CreateArgs {
  std::string image;
  std::string package;
  PipelineFlags flags;
  std::string method{delta_methods().front()->name()};
  std::string compression = "zstd";
  std::optional<int> level;
  bool best = false;
  bool dry_run = false;
  bool no_verify = false;
};

int run_create(const CreateArgs& args, const char* source_kind, const GlobalFlags& global) {
  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  // Whole layers are compressed by the delta filter (to compare with a delta) and by the delta
  // output (layers no filter encoded): both take the same options.
  std::map<std::string, std::string> payload{{"compression", args.compression}};
  if (args.level) payload["compression-level"] = std::to_string(*args.level);
  else if (args.best) payload["compression-level"] = args.compression == "zstd" ? "19" : "9";

  PipelineSpec spec;
  spec.source = source_spec(args.image, source_kind);
  for (const auto& f : args.flags.filters) spec.filters.push_back(parse_stage_spec(f));
  if (ctx.receiver) spec.filters.push_back({"dedupe", "", {}});
  if (args.method != "layer" && ctx.receiver && ctx.receiver->bases) {
    StageSpec delta{"delta", args.method, payload};
    const int delta_level = args.level ? *args.level : args.best ? 19 : kDefaultDeltaLevel;
    delta.options["level"] = std::to_string(std::clamp(delta_level, -7, 22));
    spec.filters.push_back(delta);
  } else if (args.method != "layer" && !global.quiet) {
    std::cerr << "docker_delta: no --base image: changed layers ship whole (give --base OLD for deltas)\n";
  }
  spec.destination = {"delta", args.package, payload};
  if (args.dry_run) spec.destination.options["dry-run"] = "1";
  if (args.no_verify) spec.destination.options["no-verify"] = "1";
  const nlohmann::json result = run_pipeline(builtin_registry(), spec, ctx);

  if (global.json) {
    std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (global.quiet) return 0;
  std::map<std::string, int> counts;
  for (const auto& l : result["layer_list"]) counts[l["ship"].get<std::string>()]++;
  const std::uint64_t bytes = result["bytes"].get<std::uint64_t>();
  std::string saving;
  if (result.contains("source_bytes") && result["source_bytes"].get<std::uint64_t>() > 0)
    saving = fmt::format(", {:.1f}% of the image's {}", 100.0 * double(bytes) / double(result["source_bytes"].get<std::uint64_t>()),
                         human_bytes(result["source_bytes"].get<std::uint64_t>()));
  if (args.dry_run) {
    std::cout << fmt::format("would write {}: image {}\n", args.package, result["image_id"].get<std::string>());
    std::size_t i = 0;
    for (const auto& l : result["layer_list"]) {
      std::string how = l["ship"].get<std::string>();
      if (l.contains("method")) how += " (" + (l.contains("compression") ? l["compression"].get<std::string>() : l["method"].get<std::string>()) + ")";
      std::cout << fmt::format("  layer {:>2}  {}  {:<14}  {:>10}\n", ++i, Digest::parse(l["diff_id"].get<std::string>()).short_str(), how,
                               human_bytes(l["payload_bytes"].get<std::uint64_t>()));
    }
  }
  std::cout << fmt::format("{} {}: {} layers ({} reused, {} delta, {} whole), {}{}\n", args.dry_run ? "would be" : "wrote",
                           args.package, result["layers"].get<std::size_t>(), counts["reused"], counts["delta"],
                           counts["full"], human_bytes(bytes), saving);
  return 0;
}

void add_create(CLI::App& app, CliState& state, const char* name, const char* summary, const char* source_kind) {
  auto args = std::make_shared<CreateArgs>();
  CLI::App* cmd = app.add_subcommand(name, summary);
  cmd->add_option("IMAGE", args->image, "the new image: an archive, oci:DIR, oci-archive:PATH ...")->required();
  cmd->add_option("PACKAGE", args->package, "the package file to write")->required();
  add_receiver_flags(*cmd, args->flags, true);
  std::vector<std::string> methods;
  for (const DeltaMethod* m : delta_methods()) methods.emplace_back(m->name());
  methods.emplace_back("layer");
  cmd->add_option("-m,--method", args->method,
                  "how changed layers ship: " + std::string(delta_methods().front()->name()) + " (default), " +
                      delta_method_list().substr(delta_methods().front()->name().size() + 2) + ", or layer (no delta)")
      ->check(CLI::IsMember(methods));
  cmd->add_option("-c,--compression", args->compression, "for layers that ship whole: zstd (default), gzip, bzip2, xz, none")
      ->check(CLI::IsMember({"zstd", "gzip", "bzip2", "xz", "none"}));
  cmd->add_option("-l,--level", args->level, "compression level (zstd: -7..22, negative is fast; others 1..9); default: 12 for deltas, 3 for whole layers")
      ->check(CLI::Range(-7, 22));
  cmd->add_flag("--best", args->best, "smallest package: zstd level 19 for deltas and whole layers (slower)");
  cmd->add_flag("-d,--dry-run", args->dry_run, "show what would ship and how big; write nothing");
  cmd->add_flag("--no-verify", args->no_verify, "skip decoding the package back before it is renamed into place");
  cmd->add_option("--platform", args->flags.platform, "OS/ARCH[/VARIANT] to take from a multi-platform image");
  cmd->add_option("--filter", args->flags.filters, "an extra filter stage before dedupe and delta (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("-f,--force", args->flags.force, "replace an existing package");
  add_host_flag(*cmd, args->flags);
  cmd->footer(
      "Examples:\n"
      "  docker_delta create --base app-v1.tar app-v2.tar app-v1-to-v2.ddelta\n"
      "  docker_delta create --base oci:app.d:v1 oci:app.d:v2 update.ddelta --best\n"
      "  docker_delta create --inventory site.json app-v2.tar update.ddelta -m layer\n"
      "  docker_delta create --base app-v1.tar app-v2.tar x.ddelta --dry-run");
  cmd->callback([&state, args, source_kind] {
    state.action = [&state, args, source_kind] { return run_create(*args, source_kind, state.global); };
  });
}

// ---- apply ------------------------------------------------------------------------------------

struct ApplyArgs {
  std::string package;
  std::string destination;
  PipelineFlags flags;
  bool dry_run = false;
};

PackageHeader read_header(const std::string& path);

// Where a bare DEST goes: a type it names, the command's own type, or (as the old `apply PACKAGE
// IMAGE_NAME` did) an image name in the docker daemon.
std::string destination_spec(const std::string& given, const char* destination_kind) {
  if (given.empty()) {
    if (destination_kind != nullptr && std::string(destination_kind) != "docker-daemon")
      fail(Errc::usage, "give a DEST to write");
    return "docker-daemon:";  // the package's own name
  }
  if (has_kind_prefix(given, Registry::Role::output)) return given;
  if (destination_kind != nullptr) return std::string(destination_kind) + ":" + given;
  if (given.ends_with(".tar") || given.find('/') == 0 || given.rfind("./", 0) == 0)
    fail(Errc::usage, "destination '{}' looks like a file: write docker-archive:{} or oci-archive:{}", given, given, given);
  return "docker-daemon:" + given;
}

// `apply` into the daemon with no --base: the package's base images are read from that daemon.
// The names come from the package: each must be a reference docker would accept.
void default_bases_from_daemon(PipelineFlags& flags, const std::string& destination, const PackageHeader* header) {
  if (header == nullptr || !flags.bases.empty() || destination.rfind("docker-daemon:", 0) != 0) return;
  std::set<std::string> names;
  for (const auto& b : header->base_layers) {
    if (b.image.empty()) continue;
    const std::string name = parse_image_reference(b.image, "the package's base image name").familiar();
    if (names.insert(name).second) flags.bases.push_back("docker-daemon:" + name);
  }
}

// The name `apply` with no DEST tags the image with: the package's first repo tag, validated.
std::string package_tag(const PackageHeader& h) {
  if (h.repo_tags.empty()) return {};
  const ImageReference ref = parse_image_reference(h.repo_tags.front(), "the package's tag");
  if (!ref.digest.empty()) fail(Errc::bad_input, "the package's tag '{}' is a digest, not NAME:TAG", printable(ref.familiar()));
  return ref.familiar_name() + ":" + ref.tag_or_latest();
}

// Says which base layers are present and what would be rebuilt; loads and writes nothing.
int dry_run_apply(const PackageHeader& h, RunContext& ctx, const GlobalFlags& global, const std::string& destination,
                  const PipelineFlags& flags) {
  std::vector<std::string> found, missing;
  for (const auto& b : h.base_layers) {
    const bool have = ctx.receiver && ctx.receiver->image_with_layer(b.diff_id).has_value();
    (have ? found : missing).push_back(b.diff_id.str() + "  " + printable(b.image));
  }
  // Which names the run would touch: the daemon tag it sets, the images it reads bases from.
  std::vector<std::string> tags, reads;
  if (destination.rfind("docker-daemon:", 0) == 0) {
    const std::string name = destination.substr(14);
    const std::string tag = name.empty() ? package_tag(h) : name;
    if (!tag.empty()) tags.push_back(printable(tag));
  }
  for (const auto& b : flags.bases) reads.push_back(printable(b));
  std::uint64_t rebuilt = 0, payloads = 0;
  for (const auto& l : h.layers)
    if (l.shipping != Shipping::reused) {
      rebuilt += l.size.value_or(0);
      payloads += l.payload_size;
    }
  if (global.json) {
    std::cout << nlohmann::json{{"image_id", h.config_digest.str()}, {"base_layers_found", found},
                                {"base_layers_missing", missing}, {"rebuilt_bytes", rebuilt}, {"payload_bytes", payloads},
                                {"tags", tags}, {"reads_bases", reads}}
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << fmt::format("image {}: {} of {} base layers found\n", h.config_digest.str(), found.size(), h.base_layers.size());
    for (const auto& t : tags) std::cout << "  would tag    " << t << "\n";
    for (const auto& r : reads) std::cout << "  reads bases  " << r << "\n";
    for (const auto& f : found) std::cout << "  found    " << f << "\n";
    for (const auto& m : missing) std::cout << "  MISSING  " << m << "\n";
    std::cout << fmt::format("would rebuild {} from {} of payloads; nothing loaded or written\n", human_bytes(rebuilt),
                             human_bytes(payloads));
  }
  return missing.empty() ? 0 : 1;
}

int run_apply(const ApplyArgs& given, const char* destination_kind, const GlobalFlags& global) {
  ApplyArgs args = given;
  // The header is read up front (not from a pipe) to name the bases a daemon holds.
  std::optional<PackageHeader> header;
  if (args.package != "-") header = read_header(args.package);
  const std::string destination = destination_spec(args.destination, destination_kind);
  if (header && destination == "docker-daemon:") package_tag(*header);  // refused here, before anything is read
  default_bases_from_daemon(args.flags, destination, header ? &*header : nullptr);
  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  if (args.dry_run) {
    if (!header) fail(Errc::usage, "--dry-run needs the package as a file, not '-'");
    return dry_run_apply(*header, ctx, global, destination, args.flags);
  }
  PipelineSpec spec;
  spec.source = {"delta", args.package, {}};
  spec.destination = parse_stage_spec(destination);
  set_destination_options(spec.destination, args.flags);
  for (const auto& f : args.flags.filters) spec.filters.push_back(parse_stage_spec(f));
  const nlohmann::json result = run_pipeline(builtin_registry(), spec, ctx);
  if (global.json) std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else if (!global.quiet)
    std::cout << fmt::format("wrote {}: image {}, {} layers, {}\n", result.value("destination", spec.destination.text()),
                             result.value("image_id", "?"), result.value("layers", 0),
                             human_bytes(result.value("bytes", std::uint64_t{0})));
  return 0;
}

void add_apply(CLI::App& app, CliState& state, const char* name, const char* summary, const char* destination_kind) {
  auto args = std::make_shared<ApplyArgs>();
  CLI::App* cmd = app.add_subcommand(name, summary);
  cmd->add_option("PACKAGE", args->package, "the package file ('-' reads standard input)")->required();
  cmd->add_option("DEST", args->destination,
                  "where the rebuilt image goes: docker-archive:PATH[:REF], oci:DIR[:REF], ..., or an image NAME[:TAG] "
                  "for the docker daemon (default: the daemon, with the package's own name)");
  add_pipeline_flags(*cmd, args->flags, true);
  cmd->add_flag("-d,--dry-run", args->dry_run, "say which base layers are there and what would be rebuilt; load nothing");
  cmd->footer(
      "Examples:\n"
      "  docker_delta apply --base app-v1.tar update.ddelta docker-archive:app-v2.tar:app:v2\n"
      "  docker_delta delta-to-oci --base oci:app.d:v1 update.ddelta app-v2.d\n"
      "  cat update.ddelta | docker_delta apply --base app-v1.tar - oci-archive:app-v2.tar\n"
      "  docker_delta apply update.ddelta                 # into the docker daemon; bases from it too\n"
      "  docker_delta delta-to-docker update.ddelta app:v2 --dry-run");
  cmd->callback([&state, args, destination_kind] {
    state.action = [&state, args, destination_kind] { return run_apply(*args, destination_kind, state.global); };
  });
}

// ---- info / list ------------------------------------------------------------------------------

PackageHeader read_header(const std::string& path) {
  UniqueFd fd(path == "-" ? ::dup(0) : open_for_reading(path).release());
  SequentialFdStream in(std::move(fd), "package " + path);
  return read_package_header(in, Limits{}, path == "-" ? "package on standard input" : "package " + path);
}

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
  const PackageHeader h = read_header(path);
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
  const PackageHeader h = read_header(path);
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

// ---- inventory --------------------------------------------------------------------------------

struct InventoryArgs {
  std::vector<std::string> sources;
  std::string output;
  PipelineFlags flags;
};

// Every tagged image the daemon holds (untagged ones by ID).
std::vector<StageSpec> every_daemon_image(const RunContext& ctx) {
  std::vector<StageSpec> specs;
  for (auto& name : daemon_image_names(ctx.docker_host, ctx.limits)) specs.push_back({"docker-daemon", std::move(name), {}});
  return specs;
}

int run_inventory(const InventoryArgs& args, const GlobalFlags& global) {
  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  std::vector<StageSpec> specs;
  for (const auto& s : args.sources)
    if (s != "docker-daemon:" && s != "docker-daemon") specs.push_back(source_spec(s, nullptr));
  if (specs.empty()) specs = every_daemon_image(ctx);
  BaseImages images(specs, builtin_registry(), ctx);
  const std::string text = images.inventory().to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (args.output.empty() || args.output == "-") {
    std::cout << text;
    return 0;
  }
  AtomicDestination dest(args.output, AtomicDestination::Kind::file, args.flags.force);
  {
    std::ofstream out(dest.temp_path(), std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) fail(Errc::io, "cannot write {}", dest.temp_path());
  }
  dest.commit();
  if (!global.quiet && !global.json)
    std::cerr << fmt::format("wrote {}: {} image(s)\n", args.output, images.inventory().images().size());
  return 0;
}

}  // namespace

void add_delta_commands(CLI::App& app, CliState& state) {
  add_create(app, state, "create", "Make a delta package of IMAGE: only what the receiver lacks", nullptr);
  add_create(app, state, "archive-to-delta", "Same as create, IMAGE read as an archive (docker or OCI)", "archive");
  add_create(app, state, "docker-to-delta", "Same as create, IMAGE (and bare --base names) read from the docker daemon", "docker-daemon");
  add_apply(app, state, "apply", "Rebuild the image in a delta package, with the --base image it builds on", nullptr);
  add_apply(app, state, "delta-to-archive", "apply, writing a docker-loadable archive", "docker-archive");
  add_apply(app, state, "delta-to-oci", "apply, writing an OCI layout directory", "oci");
  add_apply(app, state, "delta-to-docker", "apply into the docker daemon, tagged NAME:TAG (default: the package's name)",
            "docker-daemon");

  auto info_path = std::make_shared<std::string>();
  CLI::App* info = app.add_subcommand("info", "Summarise a delta package from its header (sizes, saving, bases needed)");
  info->add_option("PACKAGE", *info_path, "the package file")->required();
  info->callback([&state, info_path] { state.action = [&state, info_path] { return run_info(*info_path, state.global); }; });

  auto list_path = std::make_shared<std::string>();
  CLI::App* list = app.add_subcommand("list", "One row per layer of a delta package: how it ships, sizes");
  list->add_option("PACKAGE", *list_path, "the package file")->required();
  list->callback([&state, list_path] { state.action = [&state, list_path] { return run_list(*list_path, state.global); }; });

  auto inv = std::make_shared<InventoryArgs>();
  CLI::App* icmd = app.add_subcommand("inventory", "Record the layers of images this machine has, for 'create --inventory'");
  icmd->add_option("SOURCE", inv->sources, "images: archives, oci:DIR, docker-daemon:NAME ... (none: every image in the docker daemon)");
  add_host_flag(*icmd, inv->flags);
  icmd->add_option("-o,--output", inv->output, "write to this file instead of standard output");
  icmd->add_flag("-f,--force", inv->flags.force, "replace an existing output file");
  icmd->add_option("--platform", inv->flags.platform, "OS/ARCH[/VARIANT] to take from multi-platform images");
  icmd->footer("Example (on the receiving machine):\n  docker_delta inventory app-v1.tar -o site.json");
  icmd->callback([&state, inv] { state.action = [&state, inv] { return run_inventory(*inv, state.global); }; });
}

}  // namespace dd::cli
