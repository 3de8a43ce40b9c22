// What the command line parsed into: global flags, and the action the chosen command runs.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "pipeline/registry.h"
#include "pipeline/run_context.h"

namespace dd {
struct PackageHeader;
}

namespace dd::cli {

struct GlobalFlags {
  bool verbose = false;
  bool quiet = false;
  bool json = false;
  std::string progress = "auto";  // --progress: auto (a bar on a terminal), bar, json or none
};

// Flags shared by every command that runs a pipeline.
struct PipelineFlags {
  std::string platform;
  std::vector<std::string> filters;
  std::string compress;
  std::string load_layers;               // --load-layers: auto, all or missing (docker-daemon destination)
  bool force = false;
  double max_expansion = ExpansionLimit{}.ratio;
  std::vector<std::string> bases;        // --base: images the receiver has
  std::vector<std::string> inventories;  // --inventory: files listing what the receiver has
  std::string host;                      // --host: the docker daemon's socket
  std::string format;                    // --format: the type a bare DEST is written as
  std::string creds;                     // --creds USER:PASSWORD for registries
  std::string tls_verify = "true";       // --tls-verify: false allows untrusted TLS and plain HTTP
  std::string cert_dir;                  // --cert-dir: a registry's ca.crt, client.cert, client.key
};

struct CliState {
  GlobalFlags global;
  std::function<int()> action;  // set by the subcommand that was chosen
};

void add_pipeline_flags(CLI::App& cmd, PipelineFlags& flags, bool writes_output);
// --host: which docker daemon; and --creds, --tls-verify, --cert-dir: how to reach registries.
void add_host_flag(CLI::App& cmd, PipelineFlags& flags);
// --base and --inventory (the latter only where a package is made).
void add_receiver_flags(CLI::App& cmd, PipelineFlags& flags, bool with_inventory);
// Builds the run context from the flags (limits, platform, progress on a terminal, and what the
// receiver has, from --base and --inventory).
RunContext make_context(const PipelineFlags& flags, const GlobalFlags& global, Progress& progress);

// docker-archive:PATH:@all as one source per image of the archive; any other source as it is.
std::vector<StageSpec> expand_all_images(const StageSpec& spec, const RunContext& ctx);

// Sets the destination's options from --compress and --load-layers.
void set_destination_options(StageSpec& destination, const PipelineFlags& flags);

// A source as a user names it: "KIND:ARG", a bare path of an archive (told apart by content), or
// with `bare_kind` (e.g. "docker-daemon") the kind a bare name takes.
StageSpec source_spec(const std::string& text, const char* bare_kind);

// A DEST as a user names it: "KIND:ARG" as given; with --format, that type; a bare path ending in
// ".tar" a docker-archive (what `docker save -o` writes); an existing directory, or a path ending
// in '/', an OCI layout. Anything else: `otherwise` + ":" + text, or empty when `otherwise` is null.
std::string destination_text(const std::string& text, const PipelineFlags& flags, const char* otherwise);

// True when `text` starts with "KIND:" for a registered stage of that role.
bool has_kind_prefix(const std::string& text, Registry::Role role);

void add_process_commands(CLI::App& app, CliState& state);
void add_inspect_command(CLI::App& app, CliState& state);
void add_stages_command(CLI::App& app, CliState& state);
// The header of the package at `path` ("-": standard input; a split package's parts are found and
// checked first, and their paths put in `parts` when given).
PackageHeader read_package_file_header(const std::string& path, std::vector<std::string>* parts = nullptr);
// "unsigned", "signed by key ... (trusted: PATH)", ... as `info` reports it; never throws for a
// bad signature (it says so).
std::string signature_status(const PackageHeader& header, const std::vector<std::string>& trust_files);

void add_create_commands(CLI::App& app, CliState& state);
void add_apply_commands(CLI::App& app, CliState& state);
void add_package_commands(CLI::App& app, CliState& state);  // info, list
void add_verify_command(CLI::App& app, CliState& state);
void add_keygen_command(CLI::App& app, CliState& state);
void add_inventory_command(CLI::App& app, CliState& state);

}  // namespace dd::cli
