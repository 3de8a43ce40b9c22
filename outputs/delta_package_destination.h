// Where the delta output's images go: one package file (or its parts), written once every image
// of the package has arrived — after one run for `create NEW PACKAGE`, after one run per image
// for a stack. It writes the header, the signature and the payloads, reads the package back the
// way `apply` does (and decodes every payload against its bases unless told not to), and only
// then renames it into place.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/byte_stream.h"
#include "delta/delta_package.h"
#include "pipeline/run_context.h"

namespace dd {

class PackageFileWriter;

struct PackageWriteSettings {
  std::string path;
  std::uint64_t split_size = 0;  // 0: one file
  std::string sign_key;          // empty: unsigned
  bool verify = true;            // decode every payload back before the rename
  bool dry_run = false;
};

// One image, as the delta output collected it.
struct PackagedImage {
  PackageImage header;
  std::string config;
  std::vector<std::shared_ptr<UniqueFd>> payloads;  // one per layer that ships bytes, in order
  std::map<Digest, std::string> bases;              // receiver layers it needs -> an image holding them
};

class DeltaPackageDestination : public SharedDestination {
 public:
  // Fails at once when the destination exists and !ctx.force.
  DeltaPackageDestination(PackageWriteSettings settings, const RunContext& ctx);
  ~DeltaPackageDestination() override;
  const PackageWriteSettings& settings() const { return settings_; }
  // The image of the package that carries `diff_id`, if an earlier one does.
  std::optional<std::string> image_carrying(const Digest& diff_id) const;
  void add(PackagedImage image);
  nlohmann::json commit() override;

 private:
  PackageHeader make_header() const;
  void verify_written(const PackageHeader& header);
  void decode_and_check(const PackageLayer& l, const std::shared_ptr<UniqueFd>& payload, const std::string& what);

  PackageWriteSettings settings_;
  RunContext ctx_;
  std::unique_ptr<PackageFileWriter> writer_;
  std::vector<PackagedImage> images_;
  std::map<Digest, std::string> carried_;  // layer -> the package image that carries it
};

}  // namespace dd
