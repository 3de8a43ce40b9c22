// An index of a tar archive's members, built by one pass over the headers (libarchive skips the
// data with seeks), after which any member is read in place with pread. A compressed archive is
// first decompressed into an unlinked temporary file: disk, not memory, holds it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "formats/archive/file_tree.h"
#include "pipeline/run_context.h"

namespace dd {

class TarTree : public FileTree {
 public:
  // Opens `path`, decompressing gzip/zstd archives into a temporary file first.
  static std::unique_ptr<TarTree> open_archive(const std::string& path, const RunContext& ctx);

  TreeFile find(std::string_view path) const override;
  std::unique_ptr<ByteStream> open(const TreeFile& file) const override;
  std::string describe() const override { return "archive " + path_; }
  std::vector<std::string> member_names() const;

 private:
  enum class Kind { file, symlink, hardlink, directory, other };
  struct Member {
    Kind kind = Kind::other;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::string target;  // symlink target as written, or normalised hard-link target
  };

  TarTree(std::string path, std::shared_ptr<UniqueFd> fd, const Limits& limits);
  void build_index();
  void check_duplicates(const std::map<std::string, std::vector<Member>>& all);
  TreeFile resolve(const std::string& path, int hops) const;
  Digest hash_member(const Member& m, const std::string& name) const;

  std::string path_;
  std::shared_ptr<UniqueFd> fd_;
  Limits limits_;
  std::uint64_t file_size_ = 0;
  std::map<std::string, Member, std::less<>> members_;
};

}  // namespace dd
