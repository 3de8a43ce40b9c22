// drop_files SOURCE DEST PATTERN: copies an image, leaving out of every layer the files whose
// path matches the shell PATTERN, with a filter of its own. LayerRewritingFilter spools each new
// layer and fixes rootfs.diff_ids and the image ID; the filter only says what each entry becomes.
//   drop_files docker-archive:app.tar docker-archive:slim.tar 'usr/share/doc/*'
#include <archive_entry.h>
#include <fnmatch.h>

#include <iostream>

#include "cli/builtin_stages.h"
#include "filters/layer_rewriting_filter.h"
#include "formats/archive/tar_rewriter.h"
#include "pipeline/runner.h"

namespace {

class DropFiles : public dd::LayerRewritingFilter {
 public:
  DropFiles(dd::Stage& next, std::string pattern, const dd::RunContext& ctx)
      : LayerRewritingFilter(next, "drop", ctx), pattern_(std::move(pattern)) {}

 private:
  std::string write_layer(const dd::LayerInfo& info, dd::LayerBody& body, const dd::ByteSink& out) override {
    int dropped = 0;
    dd::rewrite_tar(
        body.uncompressed(),
        [&](archive_entry* e) {
          std::string path = archive_entry_pathname(e);
          if (path.rfind("./", 0) == 0) path.erase(0, 2);
          const bool drop = ::fnmatch(pattern_.c_str(), path.c_str(), 0) == 0;
          dropped += drop;
          return !drop;  // false leaves the entry out
        },
        out, "layer " + std::to_string(info.index + 1));
    return std::to_string(dropped) + " files dropped";
  }

  std::string pattern_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: drop_files SOURCE DEST PATTERN   (e.g. docker-archive:in.tar oci:out.d 'usr/share/doc/*')\n";
    return 2;
  }
  try {
    // The built-in stages, and one more filter, named "drop".
    dd::Registry registry;
    dd::register_builtin_stages(registry);
    registry.add_filter("drop", "drop:PATTERN", "leave out files matching PATTERN",
                        [](const dd::StageSpec& spec, dd::Stage& next, const dd::RunContext& ctx) {
                          return std::make_unique<DropFiles>(next, spec.argument, ctx);
                        });
    dd::PipelineSpec spec;
    spec.source = dd::parse_stage_spec(argv[1]);
    spec.filters.push_back(dd::parse_stage_spec(std::string("drop:") + argv[3]));
    spec.destination = dd::parse_stage_spec(argv[2]);
    dd::RunContext ctx;
    const nlohmann::json result = dd::run_pipeline(registry, spec, ctx);
    std::cout << result.value("image_id", "") << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "drop_files: " << e.what() << "\n";
    return 1;
  }
}
