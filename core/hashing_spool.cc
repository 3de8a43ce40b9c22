#include "core/hashing_spool.h"

#include "core/error.h"
#include "core/temp_file.h"

namespace dd {

HashingSpool::HashingSpool(const std::string& temp_dir)
    : file_(std::make_shared<UniqueFd>(make_unlinked_temp_file(temp_dir))) {}

void HashingSpool::write(const char* data, std::size_t size) {
  write_all(file_->get(), data, size, "temporary layer file");
  hasher_.update(data, size);
}

HashingSpool::Result HashingSpool::finish() {
  const std::uint64_t size = hasher_.bytes();
  return Result{file_, size, hasher_.finish()};
}

}  // namespace dd
