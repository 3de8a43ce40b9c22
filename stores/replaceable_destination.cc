#include "stores/replaceable_destination.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/byte_stream.h"
#include "core/printable.h"
#include "delta/delta_package.h"
#include "delta/package_parts.h"

namespace dd {
namespace fs = std::filesystem;
namespace {

std::size_t read_prefix(const std::string& path, char* buffer, std::size_t size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return 0;
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd.get(), buffer + got, size - got, static_cast<off_t>(got));
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

// A tar starts with a 512-byte header whose checksum field (octal, at 148) is the sum of its
// bytes with that field counted as spaces.
bool starts_like_tar(const std::string& path) {
  char header[512];
  if (read_prefix(path, header, sizeof header) != sizeof header) return false;
  unsigned long sum = 0;
  for (std::size_t i = 0; i < sizeof header; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
  unsigned long stored = 0;
  bool digits = false;
  for (std::size_t i = 148; i < 156; ++i) {
    const char c = header[i];
    if (c >= '0' && c <= '7') {
      stored = stored * 8 + static_cast<unsigned long>(c - '0');
      digits = true;
    } else if (c == ' ' || c == '\0') {
      if (digits) break;
    } else {
      return false;
    }
  }
  return digits && stored == sum && header[0] != '\0';
}

// A package, or a part of a split one.
bool starts_like_package(const std::string& path) {
  char prefix[kPackageMagic.size()];
  static_assert(kPackageMagic.size() == kPartMagic.size());
  return read_prefix(path, prefix, sizeof prefix) == sizeof prefix &&
         (std::memcmp(prefix, kPackageMagic.data(), sizeof prefix) == 0 ||
          std::memcmp(prefix, kPartMagic.data(), sizeof prefix) == 0);
}

bool is_plain_file(const fs::path& p) {
  std::error_code error;
  return fs::symlink_status(p, error).type() == fs::file_type::regular;
}
bool is_plain_directory(const fs::path& p) {
  std::error_code error;
  return fs::symlink_status(p, error).type() == fs::file_type::directory;
}

// What in `dir` an OCI layout would not hold: oci-layout, index.json, blobs/ALGORITHM/FILE only
// (no links, no deeper directories).
std::optional<std::string> foreign_entry_in_layout(const fs::path& dir) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if ((name == "oci-layout" || name == "index.json") && is_plain_file(entry.path())) continue;
    if (name != "blobs" || !is_plain_directory(entry.path())) return name;
    for (const auto& algorithm : fs::directory_iterator(entry.path(), error)) {
      if (!is_plain_directory(algorithm.path())) return "blobs/" + algorithm.path().filename().string();
      for (const auto& blob : fs::directory_iterator(algorithm.path(), error))
        if (!is_plain_file(blob.path()))
          return "blobs/" + algorithm.path().filename().string() + "/" + blob.path().filename().string();
    }
  }
  if (error) return "(unreadable: " + error.message() + ")";
  return std::nullopt;
}

// A dir: image holds `version` (naming the transport), manifest.json and plain files, nothing else.
bool is_directory_transport(const fs::path& dir) {
  char prefix[27];
  if (read_prefix((dir / "version").string(), prefix, sizeof prefix) != sizeof prefix ||
      std::memcmp(prefix, "Directory Transport Version", sizeof prefix) != 0)
    return false;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error))
    if (!is_plain_file(entry.path())) return false;
  return !error && is_plain_file(dir / "manifest.json");
}

}  // namespace

std::string_view to_string(OutputContent content) {
  switch (content) {
    case OutputContent::regular_file: return "a file";
    case OutputContent::tar_archive: return "a tar archive";
    case OutputContent::delta_package: return "a docker_delta package";
    case OutputContent::oci_layout: return "an OCI layout";
    case OutputContent::directory_transport: return "a dir: image";
  }
  return "?";
}

std::optional<std::string> why_not_replaceable(const std::string& path, OutputContent content) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return std::nullopt;  // nothing there
  const std::string want = std::string(to_string(content));
  if (S_ISLNK(info.st_mode)) return "it is a symbolic link, not " + want;
  if (content == OutputContent::directory_transport) {
    if (!S_ISDIR(info.st_mode) || !is_directory_transport(path))
      return "it is not " + want + " (a version file, manifest.json and blob files only)";
    return std::nullopt;
  }
  if (content == OutputContent::oci_layout) {
    if (!S_ISDIR(info.st_mode)) return "it is not a directory, so not " + want;
    if (!is_plain_file(fs::path(path) / "oci-layout") || !is_plain_file(fs::path(path) / "index.json"))
      return "it is a directory without oci-layout and index.json, so not " + want;
    if (auto foreign = foreign_entry_in_layout(path))
      return "it holds '" + printable(*foreign) + "', which " + want + " does not";
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode)) return "it is not a regular file, so not " + want;
  if (content == OutputContent::tar_archive && !starts_like_tar(path)) return "it is not " + want;
  if (content == OutputContent::delta_package && !starts_like_package(path)) return "it is not " + want;
  return std::nullopt;
}

bool remove_replaced(const std::string& path) noexcept {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return errno == ENOENT;
  if (!S_ISDIR(info.st_mode)) return ::unlink(path.c_str()) == 0;
  bool complete = true;
  try {
    if (is_directory_transport(path)) {
      std::error_code error;
      for (const auto& entry : fs::directory_iterator(path, error)) complete &= ::unlink(entry.path().c_str()) == 0;
      return complete && !error && ::rmdir(path.c_str()) == 0;
    }
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(path, error)) {
      const std::string name = entry.path().filename().string();
      if ((name == "oci-layout" || name == "index.json") && is_plain_file(entry.path())) {
        complete &= ::unlink(entry.path().c_str()) == 0;
      } else if (name == "blobs" && is_plain_directory(entry.path())) {
        for (const auto& algorithm : fs::directory_iterator(entry.path(), error)) {
          if (!is_plain_directory(algorithm.path())) { complete = false; continue; }
          for (const auto& blob : fs::directory_iterator(algorithm.path(), error))
            complete &= is_plain_file(blob.path()) && ::unlink(blob.path().c_str()) == 0;
          complete &= ::rmdir(algorithm.path().c_str()) == 0;
        }
        complete &= ::rmdir(entry.path().c_str()) == 0;
      } else {
        complete = false;
      }
    }
    complete &= !error && ::rmdir(path.c_str()) == 0;
  } catch (...) {
    complete = false;
  }
  return complete;
}

}  // namespace dd
