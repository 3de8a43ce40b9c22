// delta_roundtrip OLD NEW PACKAGE OUT: makes a delta package of NEW against OLD, as
// `docker_delta create --base OLD NEW PACKAGE` does, then rebuilds NEW from it and OLD into OUT,
// as `docker_delta apply --base OLD PACKAGE OUT` does, and prints both image IDs.
//   delta_roundtrip docker-archive:v1.tar docker-archive:v2.tar update.ddelta docker-archive:v2-rebuilt.tar
#include <iostream>

#include "cli/builtin_stages.h"
#include "delta/receiver.h"
#include "pipeline/runner.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: delta_roundtrip OLD NEW PACKAGE OUT   (stage specs, e.g. docker-archive:v1.tar)\n";
    return 2;
  }
  try {
    const dd::Registry& registry = dd::builtin_registry();
    const dd::StageSpec old_image = dd::parse_stage_spec(argv[1]);

    // Sender: layers OLD has are left out (dedupe), changed ones become zstd deltas against it.
    dd::RunContext send;
    send.receiver = dd::make_receiver({old_image}, {}, registry, send);
    dd::PipelineSpec create;
    create.source = dd::parse_stage_spec(argv[2]);
    create.filters = {{"dedupe", "", {}}, {"delta", "zstd", {{"compression", "zstd"}}}};
    create.destination = {"delta", argv[3], {{"compression", "zstd"}}};
    const nlohmann::json made = dd::run_pipeline(registry, create, send);

    // Receiver: the package and OLD give NEW back, every layer checked against its diff_id.
    dd::RunContext receive;
    receive.receiver = dd::make_receiver({old_image}, {}, registry, receive);
    dd::PipelineSpec apply;
    apply.source = {"delta", argv[3], {}};
    apply.destination = dd::parse_stage_spec(argv[4]);
    const nlohmann::json rebuilt = dd::run_pipeline(registry, apply, receive);

    std::cout << "package " << argv[3] << ": " << made.value("bytes", 0) << " bytes, image " << made.value("image_id", "")
              << "\nrebuilt " << rebuilt.value("image_id", "") << "\n";
    return made.value("image_id", "") == rebuilt.value("image_id", "x") ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "delta_roundtrip: " << e.what() << "\n";
    return 1;
  }
}
