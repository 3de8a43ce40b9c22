// The tar-delta decoder apply runs on a "zstd" payload, against a small fixed base layer: every
// payload ends in a refusal or in at most the declared bytes.
// With DD_FUZZ_WRITE_SEEDS=DIR set, writes payloads the encoder makes against that base instead
// (the seed corpus) and exits.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "delta/zstd/tar_delta.h"
#include "formats/archive/tar_writer.h"
#include "formats/compression/gzip_reproduction.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace dd;

constexpr std::uint64_t kDeclaredSize = 1u << 20;

std::string text(std::size_t n, unsigned seed) {
  std::string s;
  unsigned x = seed;
  while (s.size() < n) {
    x = x * 1103515245u + 12345u;
    s += "line " + std::to_string(x % 10000) + " of the base\n";
  }
  s.resize(n);
  return s;
}

DeltaLayerFile layer_of(const std::vector<std::pair<std::string, std::string>>& files, const std::string& name) {
  char path[] = "/tmp/dd-fuzz-layer-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) std::abort();
  ::close(fd);
  {
    TarWriter w(path);
    for (const auto& [member, content] : files) {
      MemoryStream body(content);
      w.add_file(member, content.size(), body);
    }
    w.close();
  }
  auto file = std::make_shared<UniqueFd>(open_for_reading(path));
  ::unlink(path);
  const auto size = static_cast<std::uint64_t>(::lseek(file->get(), 0, SEEK_END));
  DeltaLayerFile layer{Digest::sha256_of(name), file, size, nullptr, 0};
  layer.index = std::make_shared<LayerTarIndex>(index_layer_tar(*file, 0, size, Limits{}, name));
  return layer;
}

const std::vector<std::pair<std::string, std::string>>& base_files() {
  static const std::vector<std::pair<std::string, std::string>> files{
      {"etc/config.txt", text(20000, 1)},
      {"usr/share/doc/changelog.gz", regzip(GzipRecipe::zlib_9, text(30000, 2))},
      {"usr/bin/tool", text(50000, 3)},
      {"usr/lib/libtool.so", std::string("\x7f" "ELF\x02\x01\x01\0", 8) + text(30000, 4)}};
  return files;
}

std::vector<DeltaLayerFile>& bases() {
  static std::vector<DeltaLayerFile> b{layer_of(base_files(), "base")};
  return b;
}

void write_seeds(const std::string& dir) {
  const auto& f = base_files();
  const std::vector<std::vector<std::pair<std::string, std::string>>> news{
      {{"etc/config.txt", f[0].second.substr(0, 500) + "changed" + f[0].second.substr(500)}, f[1], f[2]},
      {{"moved/tool", f[2].second}, {"usr/share/doc/changelog.gz", regzip(GzipRecipe::zlib_9, "entry\n" + text(30000, 2))}},
      {{"new.txt", "fresh content"}},
      {{"usr/lib/libtool.so", f[3].second.substr(0, 9000) + "shifted" + f[3].second.substr(9000)}},
      {}};
  for (std::size_t i = 0; i < news.size(); ++i) {
    const DeltaLayerFile layer = layer_of(news[i], "new" + std::to_string(i));
    // Every changed file as a patch: the seeds hold patch operations.
    TarDeltaEncoder encoder(bases(), Limits{}, SuffixUse::always);
    std::string payload;
    DeltaSettings settings;
    settings.level = 3;
    encoder.encode(layer, settings, [&](const char* p, std::size_t n) { payload.append(p, n); });
    std::ofstream(dir + "/payload-" + std::to_string(i), std::ios::binary) << payload;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("DD_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  bases();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  MemoryStream payload(std::string(reinterpret_cast<const char*>(data), size));
  std::uint64_t written = 0;
  fuzz::refusal_is_fine([&] {
    decode_tar_delta(payload, bases(), kDeclaredSize, [&](const char*, std::size_t n) { written += n; }, "payload");
  });
  DD_FUZZ_CHECK(written <= kDeclaredSize);
  return 0;
}
