// Standard base64 (RFC 4648, with padding), through OpenSSL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dd {

std::string base64_encode(std::string_view bytes);
// Nothing when `text` is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace dd
