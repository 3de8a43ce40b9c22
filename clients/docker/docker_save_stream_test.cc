#include "clients/docker/docker_save_stream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "core/error.h"
#include "formats/archive/tar_writer.h"

namespace dd {
namespace {

// A save stream as each daemon writes one: members named NAME with CONTENT, in order.
std::string save_stream(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out;
  TarWriter tar("save stream", [&](const char* d, std::size_t n) { out.append(d, n); });
  for (const auto& [name, content] : members) {
    MemoryStream body(content);
    tar.add_file(name, content.size(), body);
  }
  tar.close();
  return out;
}

std::string read_all(const SavedLayer& l) {
  std::string out(l.size, '\0');
  EXPECT_EQ(::pread(l.file->get(), out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  return out;
}

struct Read {
  SaveStreamContents contents;
  std::string error;
  Errc code = Errc::internal;
};

Read read(const std::string& stream, const Digest& image_id, const std::set<Digest>& wanted) {
  MemoryStream in(stream);
  RunContext ctx;
  Read r;
  try {
    r.contents = read_docker_save_stream(in, image_id, [&](const Digest& d) { return wanted.count(d) > 0; },
                                         wanted.size(), ctx, "docker-daemon:test");
  } catch (const Error& e) {
    r.error = e.what();
    r.code = e.code();
  }
  return r;
}

const std::string kConfig = R"({"rootfs":{"type":"layers","diff_ids":[]}})";
const std::string kLayerA = "layer a bytes", kLayerB = "layer b bytes";

TEST(DockerSaveStream, Docker24KeepsOnlyWantedLayersFoundByTheirDigest) {
  const Digest id = Digest::sha256_of(kConfig), b = Digest::sha256_of(kLayerB);
  const std::string stream = save_stream({{"0123/layer.tar", kLayerA}, {"4567/layer.tar", kLayerB},
                                          {id.hex() + ".json", kConfig}, {"manifest.json", "[]"}});
  const Read r = read(stream, id, {b});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.contents.config, kConfig);
  ASSERT_EQ(r.contents.layers.size(), 1u);
  EXPECT_EQ(read_all(r.contents.layers.at(b)), kLayerB);
}

TEST(DockerSaveStream, Docker25BlobsAndPodmanLayerFilesByName) {
  const Digest id = Digest::sha256_of(kConfig), a = Digest::sha256_of(kLayerA), b = Digest::sha256_of(kLayerB);
  const Read docker25 = read(save_stream({{"blobs/sha256/" + a.hex(), kLayerA}, {"blobs/sha256/" + id.hex(), kConfig}}), id, {a});
  ASSERT_EQ(docker25.error, "");
  EXPECT_EQ(read_all(docker25.contents.layers.at(a)), kLayerA);
  const Read podman = read(save_stream({{b.hex() + ".tar", kLayerB}, {id.hex() + ".json", kConfig}}), id, {b});
  ASSERT_EQ(podman.error, "");
  EXPECT_EQ(read_all(podman.contents.layers.at(b)), kLayerB);
}

TEST(DockerSaveStream, ALayerNamedByAnotherDigestIsNotTaken) {
  const Digest id = Digest::sha256_of(kConfig), a = Digest::sha256_of(kLayerA);
  const Read r = read(save_stream({{"blobs/sha256/" + a.hex(), kLayerB}, {"blobs/sha256/" + id.hex(), kConfig}}), id, {a});
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.contents.layers.empty());  // the caller names the missing layer
}

TEST(DockerSaveStream, AConfigThatIsNotTheImageIsRefused) {
  const Digest id = Digest::sha256_of(kConfig);
  const Read r = read(save_stream({{id.hex() + ".json", kConfig + " "}}), id, {});
  EXPECT_EQ(r.code, Errc::integrity) << r.error;
}

TEST(DockerSaveStream, DamagedAndTruncatedStreamsAreRefused) {
  const Digest id = Digest::sha256_of(kConfig), a = Digest::sha256_of(kLayerA);
  const std::string stream = save_stream({{"0123/layer.tar", kLayerA}, {id.hex() + ".json", kConfig}});
  for (std::size_t cut : {std::size_t{100}, std::size_t{600}, stream.size() - 1100}) {
    const Read r = read(stream.substr(0, cut), id, {a});
    EXPECT_EQ(r.code, Errc::bad_input) << cut << ": " << r.error;
  }
  std::string garbage = stream;
  for (std::size_t i = 0; i < 512; ++i) garbage[i] = static_cast<char>(i * 7);
  EXPECT_EQ(read(garbage, id, {a}).code, Errc::bad_input);
}

TEST(DockerSaveStream, TooManyMembersAreRefused) {
  const Digest id = Digest::sha256_of(kConfig);
  std::vector<std::pair<std::string, std::string>> members;
  for (int i = 0; i < 50; ++i) members.emplace_back("f" + std::to_string(i), "");
  MemoryStream in(save_stream(members));
  RunContext ctx;
  ctx.limits.max_archive_members = 10;
  try {
    read_docker_save_stream(in, id, [](const Digest&) { return false; }, 0, ctx, "test");
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::limit);
  }
}

}  // namespace
}  // namespace dd
