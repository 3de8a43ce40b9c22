// `process SOURCE DEST` and the SOURCE-to-DEST presets, which are process with the stage types
// filled in: one code path.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/builtin_stages.h"
#include "cli/cli_state.h"
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
};

constexpr Preset kPresets[] = {
    {"archive-to-oci", "archive", "oci", "archive (docker or OCI) to an OCI layout directory"},
    {"archive-to-oci-archive", "archive", "oci-archive", "archive (docker or OCI) to an OCI archive"},
    {"archive-to-archive", "archive", "docker-archive", "archive (docker or OCI) to a docker-loadable archive"},
    {"oci-to-archive", "oci", "docker-archive", "OCI layout directory to a docker-loadable archive"},
    {"oci-to-oci-archive", "oci", "oci-archive", "OCI layout directory to an OCI archive"},
    {"oci-to-oci", "oci", "oci", "OCI layout directory to another (e.g. to recompress)"},
    {"docker-to-archive", "docker-daemon", "docker-archive", "image in the docker daemon to a docker-loadable archive"},
    {"docker-to-oci", "docker-daemon", "oci", "image in the docker daemon to an OCI layout directory"},
    {"archive-to-docker", "archive", "docker-daemon", "archive (docker or OCI) into the docker daemon, tagged"},
    {"oci-to-docker", "oci", "docker-daemon", "OCI layout directory into the docker daemon, tagged"},
};

struct ProcessArgs {
  std::string source;
  std::string destination;
  PipelineFlags flags;
};

int run_process(const ProcessArgs& args, const char* source_kind, const char* destination_kind,
                const GlobalFlags& global) {
  const Registry& registry = builtin_registry();
  PipelineSpec spec;
  std::string source = args.source;
  if (source_kind != nullptr && !has_kind_prefix(source, Registry::Role::input))
    source = std::string(source_kind) + ":" + source;
  spec.source = parse_stage_spec(qualify_source(source, registry));

  std::string destination = args.destination;
  if (!has_kind_prefix(destination, Registry::Role::output)) {
    if (destination_kind != nullptr)
      destination = std::string(destination_kind) + ":" + destination;
    else if (destination.find(':') == std::string::npos)
      fail(Errc::usage, "destination '{}' needs a type, e.g. oci:{} or docker-archive:{}", destination, destination, destination);
    // Otherwise it names an unknown type, which the registry reports with a suggestion.
  }
  spec.destination = parse_stage_spec(destination);
  set_destination_options(spec.destination, args.flags);
  for (const auto& f : args.flags.filters) spec.filters.push_back(parse_stage_spec(f));

  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  const nlohmann::json result = run_pipeline(registry, spec, ctx);
  if (global.json) {
    std::cout << result.dump(2) << "\n";
  } else if (!global.quiet) {
    std::cout << fmt::format("wrote {}: image {}, {} layers, {}\n", result.value("destination", spec.destination.text()),
                             result.value("image_id", "?"), result.value("layers", 0),
                             human_bytes(result.value("bytes", std::uint64_t{0})));
  }
  return 0;
}

void add_one(CLI::App& app, CliState& state, const char* name, const char* description, const char* source_kind,
             const char* destination_kind, const char* example) {
  auto args = std::make_shared<ProcessArgs>();
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->add_option("SOURCE", args->source, "what to read: an archive, an OCI directory, or a spec like oci:DIR:REF")->required();
  cmd->add_option("DEST", args->destination, "what to write, e.g. oci:DIR[:REF], oci-archive:PATH[:REF], docker-archive:PATH[:REF]")->required();
  add_pipeline_flags(*cmd, args->flags, true);
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
  for (const auto& p : kPresets)
    add_one(app, state, p.name, p.summary, p.source_kind, p.destination_kind,
            "Same as 'process' with the types filled in; SOURCE and DEST may still carry their own type.");
}

}  // namespace dd::cli
