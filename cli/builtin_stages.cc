#include "cli/builtin_stages.h"

#include "filters/dedupe_filter.h"
#include "filters/delta_filter.h"
#include "filters/exclude_filter.h"
#include "filters/normalize_timestamps_filter.h"
#include "filters/platform_filter.h"
#include "inputs/archive_input.h"
#include "inputs/delta_input.h"
#include "inputs/dir_input.h"
#include "inputs/docker_archive_input.h"
#include "inputs/docker_daemon_input.h"
#include "inputs/oci_layout_input.h"
#include "inputs/registry_input.h"
#include "outputs/delta_output.h"
#include "outputs/dir_output.h"
#include "outputs/docker_archive_output.h"
#include "outputs/docker_daemon_output.h"
#include "outputs/oci_layout_output.h"
#include "outputs/registry_output.h"
#include "outputs/search_output.h"

namespace dd {

void register_builtin_stages(Registry& registry) {
  register_archive_input(registry);
  register_docker_archive_input(registry);
  register_oci_layout_inputs(registry);
  register_delta_input(registry);
  register_dir_input(registry);
  register_docker_daemon_input(registry);
  register_registry_input(registry);
  register_platform_filter(registry);
  register_normalize_timestamps_filter(registry);
  register_dedupe_filter(registry);
  register_delta_filter(registry);
  register_exclude_filter(registry);
  register_docker_archive_output(registry);
  register_oci_outputs(registry);
  register_delta_output(registry);
  register_dir_output(registry);
  register_docker_daemon_output(registry);
  register_registry_output(registry);
  register_search_output(registry);
}

const Registry& builtin_registry() {
  static const Registry registry = [] {
    Registry r;
    register_builtin_stages(r);
    return r;
  }();
  return registry;
}

}  // namespace dd
