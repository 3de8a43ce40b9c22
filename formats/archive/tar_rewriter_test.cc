#include "formats/archive/tar_rewriter.h"

#include <archive_entry.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tests/support/temp_dir.h"

namespace dd {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string rewrite(const std::string& tar) {
  MemoryStream in(tar);
  std::string out;
  rewrite_tar(in, [](archive_entry* e) {
    archive_entry_set_mtime(e, 0, 0);
    return true;
  },
              [&](const char* p, std::size_t n) { out.append(p, n); }, "test layer");
  return out;
}

// One ustar header block whose size field is base-256 (GNU's encoding for sizes past 8 GiB).
std::string header_with_base256_size(std::uint64_t size) {
  std::string h(512, '\0');
  std::memcpy(&h[0], "big", 3);
  std::memcpy(&h[100], "0000644", 7);
  std::memcpy(&h[108], "0000000", 7);
  std::memcpy(&h[116], "0000000", 7);
  h[124] = static_cast<char>(0x80);
  for (int i = 0; i < 8; ++i) h[135 - i] = static_cast<char>((size >> (8 * i)) & 0xff);
  std::memcpy(&h[136], "00000000000", 11);
  h[156] = '0';
  std::memcpy(&h[257], "ustar\0" "00", 8);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  return h;
}

TEST(TarRewriter, RewritesARealTar) {
  TempDir dir;
  std::ofstream(dir.file("a.txt")) << "hello";
  ASSERT_EQ(std::system(("tar -C " + dir.path() + " -cf " + dir.file("in.tar") + " a.txt").c_str()), 0);
  const std::string out = rewrite(slurp(dir.file("in.tar")));
  EXPECT_NE(out.find("hello"), std::string::npos);
}

TEST(TarRewriter, HugeSparseMemberIsRefusedNotExpanded) {
  TempDir dir;
  ASSERT_EQ(std::system(("truncate -s 16G " + dir.file("holes") + " && tar -C " + dir.path() + " --sparse -cf " +
                         dir.file("sparse.tar") + " holes").c_str()),
            0);
  const std::string tar = slurp(dir.file("sparse.tar"));
  ASSERT_LT(tar.size(), 1u << 20);
  const auto start = std::chrono::steady_clock::now();
  try {
    rewrite(tar);
    FAIL() << "16 GiB of holes accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::limit);
    EXPECT_NE(std::string(e.what()).find("holes"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(TarRewriter, ForgedBase256SizeIsRefused) {
  const std::string tar = header_with_base256_size(1ull << 50) + std::string(4096, 'x') + std::string(1024, '\0');
  try {
    rewrite(tar);
    FAIL() << "a 1 PiB member accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::bad_input) << e.what();
    EXPECT_NE(std::string(e.what()).find("beyond any real layer"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dd
