// apply (and delta-to-archive, delta-to-oci, delta-to-docker): rebuilds the image in a delta
// package from the bases it builds on.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli/builtin_stages.h"
#include "cli/cli_state.h"
#include "clients/registry/registry_reference.h"
#include "core/error.h"
#include "core/printable.h"
#include "core/progress.h"
#include "delta/delta_method.h"
#include "delta/delta_package.h"
#include "delta/package_trust.h"
#include "delta/layer_sources.h"
#include "delta/receiver.h"
#include "formats/image/image_reference.h"
#include "inputs/archive_input.h"
#include "pipeline/runner.h"

namespace dd::cli {
namespace {

struct ApplyArgs {
  std::string package;
  std::string destination;
  PipelineFlags flags;
  std::vector<std::string> trust;   // --trust PUBKEY
  std::vector<std::string> images;  // --image NAME: only these
  bool dry_run = false;
};

// Where a bare DEST goes: a type it names, the command's own type, or (as the old `apply PACKAGE
// IMAGE_NAME` did) an image name in the docker daemon.
std::string destination_spec(const std::string& given, const char* destination_kind, const PipelineFlags& flags) {
  if (given.empty()) {
    if (destination_kind != nullptr && std::string(destination_kind) != "docker-daemon")
      fail(Errc::usage, "give a DEST to write");
    if (!flags.format.empty()) fail(Errc::usage, "--format {} needs a DEST to write", flags.format);
    return "docker-daemon:";  // the package's own name
  }
  if (destination_kind != nullptr && !has_kind_prefix(given, Registry::Role::output) && flags.format.empty())
    return std::string(destination_kind) + ":" + given;
  if (std::string d = destination_text(given, flags, nullptr); !d.empty()) return d;
  if (given.find('/') == 0 || given.rfind("./", 0) == 0 || given.rfind("../", 0) == 0)
    fail(Errc::usage, "destination '{}' looks like a path: end it in .tar for a docker-archive, or write oci:{} or "
         "oci-archive:{} (or give --format)", given, given, given);
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

// `apply` to a registry with no --base: the package's base images are read from that registry,
// under their own repository names ("app:v1", from wherever it came, is HOST/app:v1 there).
void default_bases_from_registry(PipelineFlags& flags, const std::string& destination, const PackageHeader* header) {
  if (header == nullptr || !flags.bases.empty() || destination.rfind("docker://", 0) != 0) return;
  const RegistryReference site = parse_registry_reference(destination.substr(7));
  std::set<std::string> names;
  for (const auto& b : header->base_layers) {
    if (b.image.empty()) continue;
    const ImageReference ref = parse_image_reference(b.image, "the package's base image name");
    std::string path = ref.path;
    if (ref.domain == "docker.io" && path.starts_with("library/")) path = path.substr(8);
    const std::string name = "docker://" + site.host + "/" + path + (ref.digest.empty() ? ":" + ref.tag_or_latest() : "@" + ref.digest);
    if (names.insert(name).second) flags.bases.push_back(name);
  }
}

// The name `apply` with no DEST tags an image with: its first repo tag, validated.
std::string package_tag(const PackageImage& h) {
  if (h.repo_tags.empty()) return {};
  const ImageReference ref = parse_image_reference(h.repo_tags.front(), "the package's tag");
  if (!ref.digest.empty()) fail(Errc::bad_input, "the package's tag '{}' is a digest, not NAME:TAG", printable(ref.familiar()));
  return ref.familiar_name() + ":" + ref.tag_or_latest();
}

// The images --image names (every image when none is named), by index.
std::vector<std::size_t> chosen_images(const PackageHeader& h, const std::vector<std::string>& names) {
  std::vector<std::size_t> out;
  if (names.empty()) {
    for (std::size_t i = 0; i < h.images.size(); ++i) out.push_back(i);
    return out;
  }
  for (const auto& name : names) {
    const std::string wanted = parse_image_reference(name, "--image").familiar();
    // "worker:v2" names "localhost/worker:v2" too, as podman's short names do.
    auto matches = [&](const std::string& tag) {
      const auto ref = try_parse_image_reference(tag);
      if (!ref) return false;
      const std::string full = ref->familiar();
      return full == wanted || (full.size() > name.size() && full.compare(full.size() - name.size(), name.size(), name) == 0 &&
                                full[full.size() - name.size() - 1] == '/');
    };
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < h.images.size() && !found; ++i)
      for (const auto& t : h.images[i].repo_tags)
        if (matches(t)) found = i;
    if (!found) {
      std::vector<std::string> all;
      for (const auto& i : h.images) all.push_back(printable(i.name()));
      fail(Errc::not_found, "the package holds no image '{}' (it holds {})", printable(name), fmt::format("{}", fmt::join(all, ", ")));
    }
    if (std::find(out.begin(), out.end(), *found) == out.end()) out.push_back(*found);
  }
  std::sort(out.begin(), out.end());  // in package order: an image's packaged layers come from earlier ones
  return out;
}

// Where image `k` of a multi-image package goes: its own name in the daemon, and in an OCI
// layout a ref.name of its own.
StageSpec destination_for_image(const std::string& destination, const PackageImage& image, bool many) {
  StageSpec spec = parse_stage_spec(destination);
  if (!many) return spec;
  const auto [path, ref] = split_path_and_ref(spec.argument);
  if (spec.kind == "docker-daemon") {
    if (!spec.argument.empty()) fail(Errc::usage, "the package holds several images: each is tagged with its own name, so give no NAME (or one --image)");
    spec.argument = package_tag(image);
  } else if (spec.kind == "oci" || spec.kind == "oci-archive") {
    if (!ref.empty()) fail(Errc::usage, "the package holds several images: each gets its own ref.name, so give {}:{} without a REF", spec.kind, path);
    if (!image.repo_tags.empty()) spec.argument = path + ":" + package_tag(image);
  } else if (spec.kind == "docker-archive") {
    if (!ref.empty()) fail(Errc::usage, "the package holds several images: each keeps its own tags, so give docker-archive:{} without a REF", path);
  } else {
    fail(Errc::usage, "{} holds one image; the package holds several: choose one with --image NAME", spec.kind);
  }
  return spec;
}

// Before anything is loaded or written: the bases hold every layer the chosen images build on
// (a stack applied into the daemon must not stop half-way, some images loaded).
void check_bases_first(const PackageHeader& h, const std::vector<std::size_t>& chosen, RunContext& ctx) {
  const LayerSources sources(h);
  std::set<Digest> needed;
  for (std::size_t k : chosen) needed.merge(sources.receiver_layers_needed(k));
  std::vector<std::string> missing;
  for (const auto& b : h.base_layers) {
    if (!needed.count(b.diff_id)) continue;
    if (!ctx.receiver || !ctx.receiver->bases)
      fail(Errc::usage, "the package builds on {} layer(s) of an older image (e.g. {}): give it with --base SOURCE", needed.size(),
           printable(b.image));
    if (!ctx.receiver->bases->inventory().image_with_layer(b.diff_id))
      missing.push_back(fmt::format("{} (of {})", b.diff_id.short_str(), printable(b.image)));
  }
  if (!missing.empty())
    fail(Errc::not_found, "the base image(s) lack {} layer(s) that the package needs: {}", missing.size(),
         fmt::format("{}", fmt::join(missing, ", ")));
}

// Says which base layers are present and what would be rebuilt; loads and writes nothing.
int dry_run_apply(const PackageHeader& h, const std::vector<std::size_t>& chosen, RunContext& ctx, const GlobalFlags& global,
                  const std::string& destination, const PipelineFlags& flags) {
  std::vector<std::string> found, missing;
  for (const auto& b : h.base_layers) {
    const bool have = ctx.receiver && ctx.receiver->image_with_layer(b.diff_id).has_value();
    (have ? found : missing).push_back(b.diff_id.str() + "  " + printable(b.image));
  }
  // Which names the run would touch: the daemon tag it sets, the images it reads bases from.
  std::vector<std::string> tags, reads, ids;
  for (std::size_t k : chosen) {
    ids.push_back(h.images[k].config_digest.str());
    if (destination.rfind("docker-daemon:", 0) == 0) {
      const std::string name = destination.substr(14);
      const std::string tag = name.empty() ? package_tag(h.images[k]) : name;
      if (!tag.empty()) tags.push_back(printable(tag));
    }
  }
  for (const auto& b : flags.bases) reads.push_back(printable(b));
  std::uint64_t rebuilt = 0, payloads = 0;
  for (std::size_t k : chosen)
    for (const auto& l : h.images[k].layers)
      if (l.shipping != Shipping::reused) {
        rebuilt += l.size.value_or(0);
        payloads += l.payload_size;
      }
  if (global.json) {
    std::cout << nlohmann::json{{"image_id", ids.front()}, {"image_ids", ids}, {"base_layers_found", found},
                                {"base_layers_missing", missing}, {"rebuilt_bytes", rebuilt}, {"payload_bytes", payloads},
                                {"tags", tags}, {"reads_bases", reads}}
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    for (const auto& id : ids) std::cout << fmt::format("image {}\n", id);
    std::cout << fmt::format("{} of {} base layers found\n", found.size(), h.base_layers.size());
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
  // The header is read up front (not from a pipe) to check who signed it, before any base is
  // read, and to name the bases a daemon holds.
  std::optional<PackageHeader> header;
  std::vector<std::size_t> chosen{0};
  const Trust trust = Trust::load(args.trust);
  if (args.package != "-") {
    header = read_package_file_header(args.package);
    trust.check(*header, "package " + args.package);
    chosen = chosen_images(*header, args.images);
  } else if (!args.images.empty()) {
    fail(Errc::usage, "--image needs the package as a file, not '-'");
  }
  const bool many = chosen.size() > 1;
  const std::string destination = destination_spec(args.destination, destination_kind, args.flags);
  if (header && destination == "docker-daemon:")
    for (std::size_t k : chosen) package_tag(header->images[k]);  // refused here, before anything is read
  default_bases_from_daemon(args.flags, destination, header ? &*header : nullptr);
  default_bases_from_registry(args.flags, destination, header ? &*header : nullptr);
  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  if (args.dry_run) {
    if (!header) fail(Errc::usage, "--dry-run needs the package as a file, not '-'");
    return dry_run_apply(*header, chosen, ctx, global, destination, args.flags);
  }
  if (header && many) check_bases_first(*header, chosen, ctx);  // one image: its input checks the same first
  std::vector<StageSpec> destinations;
  for (std::size_t k : chosen) destinations.push_back(header ? destination_for_image(destination, header->images[k], many)
                                                             : parse_stage_spec(destination));
  const bool shared = many && destinations.front().kind != "docker-daemon";
  if (shared) ctx.multi_image = std::make_shared<MultiImageRun>();
  nlohmann::json result, images = nlohmann::json::array();
  for (std::size_t n = 0; n < chosen.size(); ++n) {
    PipelineSpec spec;
    spec.source = {"delta", args.package, {}};
    if (header && header->images.size() > 1) spec.source.argument += ":@" + std::to_string(chosen[n]);
    if (!args.trust.empty()) spec.source.options["trust"] = fmt::format("{}", fmt::join(args.trust, "\n"));
    spec.destination = destinations[n];
    set_destination_options(spec.destination, args.flags);
    for (const auto& f : args.flags.filters) spec.filters.push_back(parse_stage_spec(f));
    result = run_pipeline(builtin_registry(), spec, ctx);
    images.push_back(result);
    if (!global.json && !global.quiet && !shared)
      std::cout << fmt::format("wrote {}: image {}, {} layers, {}\n", result.value("destination", spec.destination.text()),
                               result.value("image_id", "?"), result.value("layers", 0),
                               human_bytes(result.value("bytes", std::uint64_t{0})));
  }
  if (shared) {
    result = ctx.multi_image->destination->commit();
    result["destination"] = destination;
    if (!global.json && !global.quiet)
      std::cout << fmt::format("wrote {}: {} images, {}\n", destination, chosen.size(),
                               human_bytes(result.value("bytes", std::uint64_t{0})));
  } else if (many) {
    result = {{"images", images}};
  }
  if (global.json) std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

void add_apply(CLI::App& app, CliState& state, const char* name, const char* summary, const char* destination_kind) {
  auto args = std::make_shared<ApplyArgs>();
  CLI::App* cmd = app.add_subcommand(name, summary);
  cmd->add_option("PACKAGE", args->package, "the package file ('-' reads standard input)")->required();
  cmd->add_option("DEST", args->destination,
                  "where the rebuilt image goes: PATH.tar (a docker-archive), DIR (an OCI layout), docker-archive:PATH[:REF], "
                  "oci:DIR[:REF], ..., or an image NAME[:TAG] for the docker daemon (default: the daemon, with the "
                  "package's own name)");
  add_pipeline_flags(*cmd, args->flags, true);
  cmd->add_option("--trust", args->trust,
                  "a public key (from keygen) whose signature is accepted; only signed packages then apply (repeatable; "
                  "default: every *.pub in $DOCKER_DELTA_TRUST_DIR, else /etc/docker_delta/trust.d)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--image", args->images, "apply only this image of a multi-image package (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("-d,--dry-run", args->dry_run, "say which base layers are there and what would be rebuilt; load nothing");
  cmd->footer(
      "Examples:\n"
      "  docker_delta apply --base app-v1.tar update.ddelta docker-archive:app-v2.tar:app:v2\n"
      "  docker_delta delta-to-oci --base oci:app.d:v1 update.ddelta app-v2.d\n"
      "  cat update.ddelta | docker_delta apply --base app-v1.tar - oci-archive:app-v2.tar\n"
      "  docker_delta apply update.ddelta                 # into the docker daemon; bases from it too\n"
      "  docker_delta apply --trust build.pub stack.ddelta.001   # a signed, split package of a stack\n"
      "  docker_delta apply stack.ddelta stack.tar --image web:v2\n"
      "  docker_delta delta-to-docker update.ddelta app:v2 --dry-run");
  cmd->callback([&state, args, destination_kind] {
    state.action = [&state, args, destination_kind] { return run_apply(*args, destination_kind, state.global); };
  });
}

}  // namespace

void add_apply_commands(CLI::App& app, CliState& state) {
  add_apply(app, state, "apply", "Rebuild the image in a delta package, with the --base image it builds on", nullptr);
  add_apply(app, state, "delta-to-archive", "apply, writing a docker-loadable archive", "docker-archive");
  add_apply(app, state, "delta-to-oci", "apply, writing an OCI layout directory", "oci");
  add_apply(app, state, "delta-to-registry", "apply, pushing to a registry: DEST is //HOST[:PORT]/REPO[:TAG]", "docker");
  add_apply(app, state, "delta-to-docker", "apply into the docker daemon, tagged NAME:TAG (default: the package's name)",
            "docker-daemon");
}

}  // namespace dd::cli
