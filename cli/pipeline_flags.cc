#include "cli/cli_state.h"

#include <sys/statvfs.h>

#include <cstdlib>
#include <filesystem>

#include "cli/builtin_stages.h"
#include "core/error.h"
#include "delta/receiver.h"
#include "formats/archive/tar_tree.h"
#include "formats/compression/compression.h"
#include "formats/image/manifest_parser.h"
#include "inputs/archive_input.h"

namespace dd::cli {

void add_pipeline_flags(CLI::App& cmd, PipelineFlags& flags, bool writes_output) {
  cmd.add_option("--platform", flags.platform, "OS/ARCH[/VARIANT] to take from a multi-platform index (default: this host's)");
  cmd.add_option("--max-expansion", flags.max_expansion,
                 "how many times its compressed size a stream may expand to (0: no limit)")
      ->check(CLI::Range(0, 1000000000));
  add_host_flag(cmd, flags);
  if (!writes_output) return;
  add_receiver_flags(cmd, flags, false);
  cmd.add_option("--filter", flags.filters, "a filter stage, e.g. platform:linux/arm64 (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.add_option("--compress", flags.compress, "layer compression of an OCI destination: none, gzip or zstd (default: as the source)")
      ->check(CLI::IsMember({"none", "gzip", "zstd"}));
  cmd.add_option("--load-layers", flags.load_layers,
                 "into a docker daemon: all, or only the missing ones (the daemon's shared layers are left out), "
                 "or auto: missing where the daemon is known to accept it (default)")
      ->check(CLI::IsMember({"auto", "all", "missing"}));
  cmd.add_option("--format", flags.format,
                 "the type a DEST without one is written as: docker-archive, oci, oci-archive or dir "
                 "(default: docker-archive for PATH.tar, oci for a directory)")
      ->check(CLI::IsMember({"docker-archive", "oci", "oci-archive", "dir"}));
  cmd.add_flag("-f,--force", flags.force, "replace an existing destination");
}

std::string destination_text(const std::string& text, const PipelineFlags& flags, const char* otherwise) {
  if (has_kind_prefix(text, Registry::Role::output)) {
    if (!flags.format.empty())
      fail(Errc::usage, "--format {} and the destination's own type ({}) disagree: give one", flags.format, text);
    return text;
  }
  if (!flags.format.empty()) return flags.format + ":" + text;
  if (text.ends_with(".tar")) return "docker-archive:" + text;
  std::error_code ec;
  if (text.ends_with("/") || std::filesystem::is_directory(text, ec)) return "oci:" + text;
  return otherwise != nullptr ? std::string(otherwise) + ":" + text : std::string();
}

void set_destination_options(StageSpec& destination, const PipelineFlags& flags) {
  if (!flags.compress.empty()) destination.options["compress"] = flags.compress;
  if (!flags.load_layers.empty()) {
    if (destination.kind != "docker-daemon")
      fail(Errc::usage, "--load-layers applies to a docker-daemon destination, not {}", destination.text());
    destination.options["load-layers"] = flags.load_layers;
  }
}

bool has_kind_prefix(const std::string& text, Registry::Role role) {
  const auto colon = text.find(':');
  return colon != std::string::npos && builtin_registry().has(role, text.substr(0, colon));
}

void add_host_flag(CLI::App& cmd, PipelineFlags& flags) {
  cmd.add_option("--host", flags.host, "the docker daemon: unix:///PATH or tcp://HOST:PORT (default: $DOCKER_HOST, then unix:///var/run/docker.sock)");
  cmd.add_option("--creds", flags.creds,
                 "USER:PASSWORD for docker:// registries (default: the auth files: $REGISTRY_AUTH_FILE, "
                 "$XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json)");
  cmd.add_option("--tls-verify", flags.tls_verify,
                 "true: registries must present a trusted certificate; false: any certificate, and plain HTTP (default: true; "
                 "plain HTTP is always allowed to localhost)")
      ->check(CLI::IsMember({"true", "false"}));
  cmd.add_option("--cert-dir", flags.cert_dir,
                 "a registry's TLS files: ca.crt, client.cert, client.key (default: /etc/containers/certs.d/HOST, "
                 "then /etc/docker/certs.d/HOST)");
}

void add_receiver_flags(CLI::App& cmd, PipelineFlags& flags, bool with_inventory) {
  // One value per flag, so a list option never swallows the positional arguments after it.
  cmd.add_option("-b,--base", flags.bases, "an image the receiver has: archive, oci:DIR, oci-archive:PATH (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  if (with_inventory)
    cmd.add_option("--inventory", flags.inventories, "a file from 'docker_delta inventory' on the receiver (repeatable)")
        ->expected(1)
      ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

namespace {

// What may expand beyond the ratio is what the run could store: the free space where it spools
// (a decompressed layer lands there when a stage needs it whole), at most kMaxExpansionAllowance.
void bound_expansion_by_free_space(ExpansionLimit& limit) {
  const char* env = std::getenv("TMPDIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : "/tmp";
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return;
  const std::uint64_t free_bytes = std::uint64_t(fs.f_bavail) * fs.f_frsize;
  if (free_bytes < limit.allowance_bytes) {
    limit.allowance_bytes = free_bytes;
    limit.allowance_reason = "the free space in " + dir;
  }
}

void attach_receiver(RunContext& ctx, const PipelineFlags& flags) {
  if (flags.bases.empty() && flags.inventories.empty()) return;
  std::vector<StageSpec> specs;
  for (const auto& b : flags.bases)
    for (auto& spec : expand_all_images(parse_stage_spec(qualify_source(b, builtin_registry())), ctx)) specs.push_back(std::move(spec));
  ctx.receiver = make_receiver(std::move(specs), flags.inventories, builtin_registry(), ctx);
}

}  // namespace

std::vector<StageSpec> expand_all_images(const StageSpec& spec, const RunContext& ctx) {
  const auto [path, ref] = split_path_and_ref(spec.argument);
  if (spec.kind != "docker-archive" || ref != "@all") return {spec};
  const auto tree = TarTree::open_archive(path, ctx);
  if (!tree->contains("manifest.json")) fail(Errc::bad_input, "{} has no manifest.json: it is not a docker archive", path);
  auto stream = tree->open(tree->find("manifest.json"));
  const auto entries = parse_docker_save_manifest(read_capped(*stream, ctx.limits.max_json_bytes, "manifest.json"), ctx.limits);
  std::vector<StageSpec> out;
  for (std::size_t i = 0; i < entries.size(); ++i) out.push_back({spec.kind, path + ":@" + std::to_string(i), spec.options});
  return out;
}

RunContext make_context(const PipelineFlags& flags, const GlobalFlags& global, Progress& progress) {
  RunContext ctx;
  ctx.force = flags.force;
  if (!flags.platform.empty()) ctx.platform = Platform::parse(flags.platform);
  ctx.limits.expansion.ratio = flags.max_expansion;
  bound_expansion_by_free_space(ctx.limits.expansion);
  Progress::Mode mode = Progress::Mode::off;
  if (global.progress == "json") mode = Progress::Mode::json;
  else if (global.progress == "bar" || (global.progress == "auto" && Progress::stderr_is_terminal() && !global.quiet && !global.json))
    mode = Progress::Mode::bar;
  progress = Progress(mode);
  ctx.progress = &progress;
  ctx.docker_host = flags.host;
  ctx.registry = {flags.creds, flags.tls_verify != "false", flags.cert_dir};
  attach_receiver(ctx, flags);
  return ctx;
}

StageSpec source_spec(const std::string& text, const char* bare_kind) {
  std::string s = text;
  if (bare_kind != nullptr && !has_kind_prefix(s, Registry::Role::input)) s = std::string(bare_kind) + ":" + s;
  return parse_stage_spec(qualify_source(s, builtin_registry()));
}

}  // namespace dd::cli
