#include "clients/registry/registry_client.h"

#include <gtest/gtest.h>

namespace dd {
namespace {

std::string error_text(int status, const std::string& body) {
  HttpResponse response;
  response.status = status;
  response.body = body;
  return registry_error_text(response);
}

TEST(RegistryErrorText, TellsTheSpecsErrorCodesAndMessages) {
  EXPECT_EQ(error_text(404, R"({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})"),
            "HTTP 404 MANIFEST_UNKNOWN: manifest unknown");
  EXPECT_EQ(error_text(401, R"({"errors": [{"code": "UNAUTHORIZED"}, {"message": "no"}]})"), "HTTP 401 UNAUTHORIZED; no");
}

TEST(RegistryErrorText, FieldsOfAnotherTypeAreLeftOutNotThrown) {
  // Found by fuzz/registry_answers_fuzz.cc: a message that is an object threw out of the parser.
  EXPECT_EQ(error_text(404, R"({"errors": [{"code": "MANIFEST_UNKNOWN", "message": {"Tag": "v9"}}]})"),
            "HTTP 404 MANIFEST_UNKNOWN");
  EXPECT_EQ(error_text(500, R"({"errors": [{"code": 7, "message": ["x"]}]})"),
            R"(HTTP 500 {"errors": [{"code": 7, "message": ["x"]}]})");
  EXPECT_EQ(error_text(502, ""), "HTTP 502 no details");
}

}  // namespace
}  // namespace dd
