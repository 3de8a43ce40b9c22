// create (and archive-to-delta, docker-to-delta): a delta package of an image, holding only what
// the receiver lacks.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <set>
#include <thread>

#include "cli/builtin_stages.h"
#include "cli/cli_state.h"
#include "core/error.h"
#include "core/printable.h"
#include "core/progress.h"
#include "delta/delta_method.h"
#include "delta/delta_package.h"
#include "delta/receiver.h"
#include "formats/image/image_list.h"
#include "formats/image/manifest_parser.h"
#include "inputs/archive_input.h"
#include "pipeline/runner.h"

namespace dd::cli {
namespace {

struct CreateArgs {
  std::vector<std::string> positionals;  // NEW... PACKAGE
  std::string images_from;               // --images-from FILE
  std::string split;                     // --split SIZE
  std::string sign;                      // --sign KEYFILE
  PipelineFlags flags;
  std::string method{delta_methods().front()->name()};
  std::string compression = "zstd";
  std::optional<int> level;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  bool best = false;
  bool dry_run = false;
  bool no_verify = false;
};

// The images to ship, as sources: the positionals but the last, then --images-from's, with
// docker-archive:PATH:@all standing for every image of that archive.
std::vector<StageSpec> image_sources(const CreateArgs& args, const char* source_kind, const RunContext& ctx) {
  std::vector<std::string> texts(args.positionals.begin(), args.positionals.end() - 1);
  if (!args.images_from.empty()) {
    const ImageList list = read_image_list(args.images_from, ctx.limits);
    for (const auto& image : list.images)
      // A compose file names images by reference: where docker runs them.
      texts.push_back(list.from_compose && !has_kind_prefix(image, Registry::Role::input) ? "docker-daemon:" + image : image);
  }
  if (texts.empty()) fail(Errc::usage, "give the images to ship: create NEW... PACKAGE (or --images-from FILE)");
  std::vector<StageSpec> out;
  for (const auto& text : texts)
    for (auto& spec : expand_all_images(source_spec(text, source_kind), ctx)) out.push_back(std::move(spec));
  return out;
}

int run_create(const CreateArgs& args, const char* source_kind, const GlobalFlags& global) {
  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  const std::string package = args.positionals.back();
  const std::vector<StageSpec> sources = image_sources(args, source_kind, ctx);
  // Whole layers are compressed by the delta filter (to compare with a delta) and by the delta
  // output (layers no filter encoded): both take the same options.
  std::map<std::string, std::string> payload{{"compression", args.compression}};
  if (args.level) payload["compression-level"] = std::to_string(*args.level);
  else if (args.best) payload["compression-level"] = args.compression == "zstd" ? "19" : "9";
  const bool deltas = args.method != "layer" && ctx.receiver && ctx.receiver->bases;
  if (args.method != "layer" && !deltas && !global.quiet)
    std::cerr << "docker_delta: no --base image: changed layers ship whole (give --base OLD for deltas)\n";
  const bool many = sources.size() > 1;
  if (many) ctx.multi_image = std::make_shared<MultiImageRun>();

  nlohmann::json result;
  for (const StageSpec& source : sources) {
    PipelineSpec spec;
    spec.source = source;
    for (const auto& f : args.flags.filters) spec.filters.push_back(parse_stage_spec(f));
    if (ctx.receiver) spec.filters.push_back({"dedupe", "", {}});
    if (deltas) {
      StageSpec delta{"delta", args.method, payload};
      const int delta_level = args.level ? *args.level : args.best ? 19 : kDefaultDeltaLevel;
      delta.options["level"] = std::to_string(std::clamp(delta_level, -7, 22));
      delta.options["jobs"] = std::to_string(args.jobs);
      spec.filters.push_back(delta);
    }
    spec.destination = {"delta", package, payload};
    if (args.dry_run) spec.destination.options["dry-run"] = "1";
    if (args.no_verify) spec.destination.options["no-verify"] = "1";
    if (!args.split.empty()) spec.destination.options["split"] = args.split;
    if (!args.sign.empty()) spec.destination.options["sign"] = args.sign;
    result = run_pipeline(builtin_registry(), spec, ctx);
  }
  if (many) result = ctx.multi_image->destination->commit();

  if (global.json) {
    std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (global.quiet) return 0;
  std::map<std::string, int> counts;
  std::size_t layers = 0;
  for (const auto& image : result["images"]) {
    layers += image["layers"].get<std::size_t>();
    for (const auto& l : image["layer_list"]) counts[l["ship"].get<std::string>()]++;
  }
  const std::uint64_t bytes = result["bytes"].get<std::uint64_t>();
  std::string saving;
  if (result.contains("source_bytes") && result["source_bytes"].get<std::uint64_t>() > 0)
    saving = fmt::format(", {:.1f}% of the {} {}", 100.0 * double(bytes) / double(result["source_bytes"].get<std::uint64_t>()),
                         many ? "images'" : "image's", human_bytes(result["source_bytes"].get<std::uint64_t>()));
  if (args.dry_run) {
    std::cout << fmt::format("would write {}:\n", package);
    for (const auto& image : result["images"]) {
      std::cout << fmt::format("image {}\n", image["image_id"].get<std::string>());
      std::size_t i = 0;
      for (const auto& l : image["layer_list"]) {
        std::string how = l["ship"].get<std::string>();
        if (l.contains("method")) how += " (" + (l.contains("compression") ? l["compression"].get<std::string>() : l["method"].get<std::string>()) + ")";
        std::cout << fmt::format("  layer {:>2}  {}  {:<14}  {:>10}\n", ++i, Digest::parse(l["diff_id"].get<std::string>()).short_str(), how,
                                 human_bytes(l["payload_bytes"].get<std::uint64_t>()));
      }
    }
  } else if (many) {
    for (const auto& image : result["images"]) {
      const std::string tag = image["repo_tags"].empty() ? std::string("(untagged)") : image["repo_tags"][0].get<std::string>();
      std::cout << fmt::format("  {:<40} {}  {:>3} layers  {:>10}\n", printable(tag),
                               Digest::parse(image["image_id"].get<std::string>()).short_str(), image["layers"].get<std::size_t>(),
                               human_bytes(image["bytes"].get<std::uint64_t>()));
    }
  }
  std::string images = many ? fmt::format("{} images, ", result["images"].size()) : "";
  std::string extra;
  if (counts["packaged"] > 0) extra = fmt::format(", {} shared", counts["packaged"]);
  std::cout << fmt::format("{} {}: {}{} layers ({} reused, {} delta, {} whole{}), {}{}\n", args.dry_run ? "would be" : "wrote",
                           package, images, layers, counts["reused"], counts["delta"], counts["full"], extra, human_bytes(bytes), saving);
  if (result.contains("parts"))
    std::cout << fmt::format("  in {} parts: {} ... {}\n", result["parts"].size(), result["parts"].front().get<std::string>(),
                             result["parts"].back().get<std::string>());
  if (!result["signed_by"].is_null()) std::cout << fmt::format("  signed by key {}\n", result["signed_by"].get<std::string>());
  return 0;
}

void add_create(CLI::App& app, CliState& state, const char* name, const char* summary, const char* source_kind) {
  auto args = std::make_shared<CreateArgs>();
  CLI::App* cmd = app.add_subcommand(name, summary);
  cmd->add_option("NEW... PACKAGE", args->positionals,
                  "the new images (archives, oci:DIR, oci-archive:PATH, docker-archive:PATH:@all ...), then the package file to write")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--images-from", args->images_from,
                  "more images to ship: a file with one per line, or a compose file (its image: keys, read from the docker daemon)");
  cmd->add_option("--split", args->split, "write PACKAGE.001, PACKAGE.002, ... each at most SIZE bytes (4095M for FAT32, 700MiB, 4G ...)");
  cmd->add_option("--sign", args->sign, "sign the package with this private key (made by docker_delta keygen)");
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
  cmd->add_option("-l,--level", args->level, "compression level (zstd: -7..22, negative is fast; others 1..9); default: 6 for deltas, 3 for whole layers")
      ->check(CLI::Range(-7, 22));
  cmd->add_option("-j,--jobs", args->jobs, "threads making suffix-matcher patches (default: the machine's cores; each holds up to 16 MiB of old bytes and a 64 MiB suffix array)")
      ->check(CLI::Range(1, 256));
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
      "  docker_delta create --base app-v1.tar app-v2.tar x.ddelta --dry-run\n"
      "  docker_delta create --base site-v1.tar docker-archive:stack-v2.tar:@all stack.ddelta --split 4095M --sign build.key\n"
      "  docker_delta docker-to-delta --images-from compose.yaml --inventory site.json stack.ddelta");
  cmd->callback([&state, args, source_kind] {
    if (args->positionals.size() < 2 && args->images_from.empty())
      throw CLI::ValidationError("NEW... PACKAGE", "give the new image(s) and the package to write");
    state.action = [&state, args, source_kind] { return run_create(*args, source_kind, state.global); };
  });
}

}  // namespace

void add_create_commands(CLI::App& app, CliState& state) {
  add_create(app, state, "create", "Make a delta package of one or more images: only what the receiver lacks", nullptr);
  add_create(app, state, "archive-to-delta", "Same as create, IMAGE read as an archive (docker or OCI)", "archive");
  add_create(app, state, "registry-to-delta", "Same as create, IMAGE (and bare --base names) read from a registry: //HOST/REPO:TAG",
             "docker");
  add_create(app, state, "docker-to-delta", "Same as create, IMAGE (and bare --base names) read from the docker daemon", "docker-daemon");
}

}  // namespace dd::cli
