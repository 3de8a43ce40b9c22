// Making what was written survive a power cut, as containerd's content writer does: write under a
// temporary name, fsync the file, rename it into place, then fsync the directory that holds the
// new name. Without the first fsync a correctly named but empty file can appear after a crash;
// without the second the rename itself can be lost.
#pragma once

#include <string>

namespace dd {

// fsync of an open file; fails naming `path` (e.g. "no space left on device" on a full disk).
void sync_fd(int fd, const std::string& path);
// Opens `path` (a file or a directory, never following a symlink) and fsyncs it.
void sync_path(const std::string& path);
// fsyncs every regular file and directory under `root` (symlinks are not followed), `root` last.
void sync_tree(const std::string& root);
// fsyncs the directory that holds `path`, so a rename or unlink there is on disk.
void sync_parent_directory(const std::string& path);

}  // namespace dd
