// Input "docker-archive:PATH[:REF|:@INDEX]": what `docker save`, podman, skopeo and buildah
// write. Reads every layout: Docker <=24 (<id>/layer.tar with symlinked repeats), Docker 25+ (an
// OCI layout inside, manifest.json pointing at blobs/sha256/...), containers/image (<diffid>.tar)
// and the containerd store (compressed blobs named by compressed digest).
#pragma once

#include <memory>
#include <string>

#include "formats/archive/file_tree.h"
#include "pipeline/registry.h"

namespace dd {

class DockerArchiveInput : public InputStore {
 public:
  // `selector`: empty (the archive must hold one image), "@N" (0-based), or a repo tag.
  DockerArchiveInput(std::unique_ptr<FileTree> tree, std::string selector, const RunContext& ctx);
  void run(Stage& first) override;

 private:
  std::unique_ptr<FileTree> tree_;
  std::string selector_;
  const RunContext& ctx_;
};

void register_docker_archive_input(Registry& registry);

}  // namespace dd
