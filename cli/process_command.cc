// `process SOURCE DEST` and the SOURCE-to-DEST presets, which are process with the stage types
// filled in: one code path.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/builtin_stages.h"
#include "cli/cli_state.h"
#include "cli/inspect_sink.h"
#include "core/error.h"
#include "core/progress.h"
#include "inputs/archive_input.h"
#include "pipeline/runner.h"

namespace dd::cli {
namespace {

struct Preset {
  const char* name;
  const char* source_kind;       // how a bare SOURCE is read
  const char* destination_kind;  // how a bare DEST is written
  const char* summary;
  const char* example;           // SOURCE DEST [options]
};

constexpr Preset kPresets[] = {
    {"archive-to-oci", "archive", "oci", "archive (docker or OCI) to an OCI layout directory", "app.tar app.d:v2"},
    {"archive-to-oci-archive", "archive", "oci-archive", "archive (docker or OCI) to an OCI archive", "app.tar app-oci.tar --compress zstd"},
    {"archive-to-archive", "archive", "docker-archive", "archive (docker or OCI) to a docker-loadable archive", "app.tar.zst app.tar"},
    {"oci-to-archive", "oci", "docker-archive", "OCI layout directory to a docker-loadable archive", "app.d:v2 app.tar"},
    {"oci-to-oci-archive", "oci", "oci-archive", "OCI layout directory to an OCI archive", "app.d:v2 app-oci.tar:v2"},
    {"oci-to-oci", "oci", "oci", "OCI layout directory to another (e.g. to recompress)", "app.d:v2 app-zstd.d:v2 --compress zstd"},
    {"docker-to-archive", "docker-daemon", "docker-archive", "image in the docker daemon to a docker-loadable archive", "app:v2 app.tar"},
    {"docker-to-oci", "docker-daemon", "oci", "image in the docker daemon to an OCI layout directory", "app:v2 app.d:v2"},
    {"archive-to-docker", "archive", "docker-daemon", "archive (docker or OCI) into the docker daemon, tagged", "app.tar app:v2"},
    {"oci-to-docker", "oci", "docker-daemon", "OCI layout directory into the docker daemon, tagged", "app.d:v2 app:v2"},
    {"registry-to-archive", "docker", "docker-archive", "image in a registry to a docker-loadable archive", "//registry:5000/app:v2 app.tar"},
    {"archive-to-registry", "archive", "docker", "archive (docker or OCI) pushed to a registry", "app.tar //registry:5000/app:v2"},
    {"registry-to-docker", "docker", "docker-daemon", "image in a registry into the docker daemon, tagged", "//registry:5000/app:v2 app:v2"},
    {"docker-to-registry", "docker-daemon", "docker", "image in the docker daemon pushed to a registry", "app:v2 //registry:5000/app:v2"},
    {"registry-to-oci", "docker", "oci", "image in a registry to an OCI layout directory", "//registry:5000/app:v2 app.d:v2"},
    {"oci-to-registry", "oci", "docker", "OCI layout directory pushed to a registry", "app.d:v2 //registry:5000/app:v2"},
};

struct ProcessArgs {
  std::string source;
  std::string destination;
  PipelineFlags flags;
  bool all_platforms = false;  // --all: every image of an index, and the index
};

// The platforms the source's index offers (one, for a source without an index).
std::vector<std::string> source_platforms(const Registry& registry, const StageSpec& source, const RunContext& ctx) {
  RunContext quiet = ctx;
  quiet.progress = nullptr;
  const nlohmann::json r = run_pipeline(registry, source, {}, std::make_unique<InspectSink>(source.text(), false), quiet);
  std::vector<std::string> out;
  for (const auto& p : r["platforms"]) out.push_back(p.get<std::string>());
  return out;
}

// --all: one run per platform into a destination shared by the runs, which commits the index.
nlohmann::json run_all_platforms(const Registry& registry, PipelineSpec spec, RunContext& ctx) {
  if (spec.destination.kind != "docker")
    fail(Errc::usage, "--all writes every platform and the index: give a docker:// destination, not {}", spec.destination.text());
  if (ctx.platform) fail(Errc::usage, "--all and --platform disagree: give one");
  const std::vector<std::string> platforms = source_platforms(registry, spec.source, ctx);
  if (platforms.size() < 2) return run_pipeline(registry, spec, ctx);  // one image: its manifest, as skopeo copies it
  ctx.multi_image = std::make_shared<MultiImageRun>();
  for (const auto& p : platforms) {
    ctx.platform = Platform::parse(p);
    run_pipeline(registry, spec, ctx);
  }
  return ctx.multi_image->destination->commit();
}

int run_process(const ProcessArgs& args, const char* source_kind, const char* destination_kind,
                const GlobalFlags& global) {
  const Registry& registry = builtin_registry();
  PipelineSpec spec;
  std::string source = args.source;
  if (source_kind != nullptr && !has_kind_prefix(source, Registry::Role::input))
    source = std::string(source_kind) + ":" + source;
  spec.source = parse_stage_spec(qualify_source(source, registry));

  // A preset's own type comes first for a bare DEST: archive-to-oci writes out.tar as a layout.
  std::string destination =
      destination_kind != nullptr && args.flags.format.empty() && !has_kind_prefix(args.destination, Registry::Role::output)
          ? std::string(destination_kind) + ":" + args.destination
          : destination_text(args.destination, args.flags, nullptr);
  if (destination.empty()) {
    if (args.destination.find(':') == std::string::npos)
      fail(Errc::usage, "destination '{}' needs a type: end it in .tar for a docker-archive, or write oci:{} or "
           "docker-archive:{} (or give --format)", args.destination, args.destination, args.destination);
    destination = args.destination;  // it names an unknown type, which the registry reports with a suggestion
  }
  spec.destination = parse_stage_spec(destination);
  set_destination_options(spec.destination, args.flags);
  for (const auto& f : args.flags.filters) spec.filters.push_back(parse_stage_spec(f));

  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  const nlohmann::json result = args.all_platforms ? run_all_platforms(registry, spec, ctx) : run_pipeline(registry, spec, ctx);
  if (global.json) {
    std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (result.contains("matches")) {  // the search destination: what it found, not what it wrote
    for (const auto& m : result["matches"])
      std::cout << fmt::format("layer {:<3} {}  {:<9} {:>10}  {}\n", m["layer"].get<int>(),
                               m["diff_id"].get<std::string>().substr(0, 19), m["type"].get<std::string>(),
                               m["size"].get<long long>(), m["path"].get<std::string>());
    if (!global.quiet)
      std::cerr << fmt::format("{} matching paths in {} layers\n", result["matches"].size(), result.value("layers", 0));
  } else if (!global.quiet && result.contains("index_digest")) {
    std::cout << fmt::format("wrote {}: index {} of {} images\n", result.value("destination", spec.destination.text()),
                             result.value("index_digest", "?"), result.value("images", 0));
  } else if (!global.quiet) {
    std::cout << fmt::format("wrote {}: image {}, {} layers, {}\n", result.value("destination", spec.destination.text()),
                             result.value("image_id", "?"), result.value("layers", 0),
                             human_bytes(result.value("bytes", std::uint64_t{0})));
  }
  return 0;
}

struct SearchArgs {
  ProcessArgs process;
  std::vector<std::string> globs;
};

void add_search(CLI::App& app, CliState& state) {
  auto args = std::make_shared<SearchArgs>();
  CLI::App* cmd = app.add_subcommand("search", "Say which layer of an image holds the paths matching a GLOB; write nothing");
  cmd->add_option("SOURCE", args->process.source, "what to read: an archive, an OCI directory, or a spec like docker-daemon:app:v2")
      ->required();
  cmd->add_option("GLOB", args->globs, "a shell glob: without '/' a name at any depth, with '/' a path from the root")
      ->required();
  add_pipeline_flags(*cmd, args->process.flags, false);
  cmd->footer(
      "Examples:\n"
      "  docker_delta search app.tar '*.pyc' usr/share/doc\n"
      "  docker_delta --json search docker-daemon:app:v2 'libssl*'\n"
      "Lines: layer number, diff_id, type, size, path. The same as 'process SOURCE search:GLOB[,GLOB...]'.");
  cmd->callback([&state, args] {
    state.action = [&state, args] {
      ProcessArgs p = args->process;
      p.destination = "search:";
      for (std::size_t i = 0; i < args->globs.size(); ++i) p.destination += (i ? "," : "") + args->globs[i];
      return run_process(p, nullptr, nullptr, state.global);
    };
  });
}

void add_one(CLI::App& app, CliState& state, const char* name, const char* description, const char* source_kind,
             const char* destination_kind, const std::string& example) {
  auto args = std::make_shared<ProcessArgs>();
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->add_option("SOURCE", args->source, "what to read: an archive, an OCI directory, or a spec like oci:DIR:REF")->required();
  cmd->add_option("DEST", args->destination, "what to write, e.g. oci:DIR[:REF], oci-archive:PATH[:REF], docker-archive:PATH[:REF]")->required();
  add_pipeline_flags(*cmd, args->flags, true);
  cmd->add_flag("--all", args->all_platforms,
                "with a multi-platform source: every platform's image and the index that names them (docker:// destinations)");
  cmd->footer(example);
  cmd->callback([&state, args, source_kind, destination_kind] {
    state.action = [&state, args, source_kind, destination_kind] {
      return run_process(*args, source_kind, destination_kind, state.global);
    };
  });
}

}  // namespace

void add_process_commands(CLI::App& app, CliState& state) {
  add_one(app, state, "process", "Run any pipeline: read SOURCE, pass it through filters, write DEST", nullptr, nullptr,
          "Examples:\n"
          "  docker_delta process app.tar oci:app.d:v2\n"
          "  docker_delta process oci:multi.d oci-archive:arm.tar --platform linux/arm64\n"
          "  docker_delta process docker-archive:all.tar:web:1.2 docker-archive:web.tar --force\n"
          "Run 'docker_delta stages' for every SOURCE, DEST and --filter type.");
  add_search(app, state);
  for (const auto& p : kPresets)
    add_one(app, state, p.name, p.summary, p.source_kind, p.destination_kind,
            fmt::format("Example:\n  docker_delta {} {}\nSame as 'process' with the types filled in; SOURCE and DEST may "
                        "still carry their own type.",
                        p.name, p.example));
}

}  // namespace dd::cli
