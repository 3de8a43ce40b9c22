#include "formats/image/image_list.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dd {
namespace {

TEST(ImageList, ComposeFilesGiveTheirImagesOnce) {
  const auto list = parse_image_list(R"(
services:
  web:
    image: "registry.site:5000/web:2.1"
    ports: ["80:80"]
  worker:
    image: registry.site:5000/web:2.1
  db: {image: postgres:15}
x-anchors: &defaults
  restart: always
)", "compose.yaml");
  EXPECT_TRUE(list.from_compose);
  EXPECT_EQ(list.images, (std::vector<std::string>{"registry.site:5000/web:2.1", "postgres:15"}));
}

TEST(ImageList, AServiceWithoutAnImageIsNamed) {
  try {
    parse_image_list("services:\n  app:\n    build: .\n", "docker-compose.yml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("service 'app' has no image"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_image_list("services: [1, 2]\n", "compose.yml"), Error);
  EXPECT_THROW(parse_image_list("services:\n  a: {image: x\n", "compose.yml"), Error);  // bad YAML
}

TEST(ImageList, PlainListsSkipCommentsAndBlanks) {
  const auto list = parse_image_list("# the stack\n app-v2.tar \n\ndocker-archive:all.tar:@all\r\n", "images.txt");
  EXPECT_FALSE(list.from_compose);
  EXPECT_EQ(list.images, (std::vector<std::string>{"app-v2.tar", "docker-archive:all.tar:@all"}));
  EXPECT_THROW(parse_image_list("# nothing\n", "images.txt"), Error);
}

}  // namespace
}  // namespace dd
