#include "formats/image/image_reference.h"

#include "core/error.h"
#include "core/printable.h"

namespace dd {
namespace {

constexpr std::size_t kNameTotalLengthMax = 255;
constexpr std::string_view kDefaultDomain = "docker.io";

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// path-component := [a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )*
bool valid_path_component(std::string_view s) {
  std::size_t i = 0;
  const auto run = [&] {
    const std::size_t start = i;
    while (i < s.size() && is_lower_alnum(s[i])) ++i;
    return i > start;
  };
  if (!run()) return false;
  while (i < s.size()) {
    if (s[i] == '.') ++i;
    else if (s[i] == '_') i += (i + 1 < s.size() && s[i + 1] == '_') ? 2 : 1;
    else if (s[i] == '-') while (i < s.size() && s[i] == '-') ++i;
    else return false;
    if (!run()) return false;
  }
  return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool valid_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

// host [":" port], host a dotted name or a bracketed IPv6 address.
bool valid_domain(std::string_view d) {
  std::string_view host = d;
  if (d.starts_with('[')) {
    const auto close = d.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : d.substr(1, close - 1))
      if (!is_hex(c) && c != ':') return false;
    host = {};
    d.remove_prefix(close + 1);
  } else {
    const auto colon = d.find(':');
    host = d.substr(0, colon);
    d = colon == std::string_view::npos ? std::string_view{} : d.substr(colon);
    std::string_view rest = host;
    for (;;) {
      const auto dot = rest.find('.');
      if (!valid_domain_component(rest.substr(0, dot))) return false;
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
  }
  if (d.empty()) return true;
  if (d.front() != ':' || d.size() == 1) return false;
  for (char c : d.substr(1))
    if (!is_digit(c)) return false;
  return true;
}

// tag := [\w][\w.-]{0,127}
bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || !is_word(t.front())) return false;
  for (char c : t)
    if (!is_word(c) && c != '.' && c != '-') return false;
  return true;
}

// algorithm ":" hex; the registered algorithms have a fixed length of lower-case hex.
bool valid_digest(std::string_view d) {
  const auto colon = d.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view algorithm = d.substr(0, colon), hex = d.substr(colon + 1);
  bool component_start = true;
  for (char c : algorithm) {
    if (c == '+' || c == '.' || c == '-' || c == '_') {
      if (component_start) return false;
      component_start = true;
    } else if (component_start ? ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') : is_alnum(c)) {
      component_start = false;
    } else {
      return false;
    }
  }
  if (component_start || hex.size() < 32) return false;
  for (char c : hex)
    if (!is_hex(c)) return false;
  const auto lower_hex_of = [&](std::size_t n) {
    if (hex.size() != n) return false;
    for (char c : hex)
      if (c >= 'A' && c <= 'F') return false;
    return true;
  };
  if (algorithm == "sha256") return lower_hex_of(64);
  if (algorithm == "sha512") return lower_hex_of(128);
  return true;
}

bool all_hex(std::string_view s) {
  for (char c : s)
    if (!is_hex(c)) return false;
  return true;
}

std::optional<ImageReference> refuse(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return std::nullopt;
}

}  // namespace

std::string ImageReference::name() const { return domain + "/" + path; }

std::string ImageReference::familiar_name() const {
  if (domain != kDefaultDomain) return name();
  if (path.starts_with("library/") && path.find('/', 8) == std::string::npos) return path.substr(8);
  return path;
}

std::string ImageReference::tag_or_latest() const {
  if (!tag.empty()) return tag;
  return digest.empty() ? "latest" : "";
}

std::string ImageReference::familiar() const {
  std::string s = familiar_name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string ImageReference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::optional<ImageReference> try_parse_image_reference(std::string_view text, std::string* why) {
  if (text.empty()) return refuse(why, "it is empty");
  // Anything longer cannot be a valid name with a tag and a digest: stop before the work.
  if (text.size() > kNameTotalLengthMax + 1 + 128 + 1 + 7 + 128) return refuse(why, "it is too long");
  ImageReference r;
  std::string_view name = text;
  if (const auto at = name.find('@'); at != std::string_view::npos) {
    r.digest = std::string(name.substr(at + 1));
    name = name.substr(0, at);
    if (!valid_digest(r.digest)) return refuse(why, "its digest is not ALGORITHM:HEX");
  }
  const auto slash = name.rfind('/');
  if (const auto colon = name.rfind(':'); colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = std::string(name.substr(colon + 1));
    name = name.substr(0, colon);
    if (!valid_tag(r.tag)) return refuse(why, "its tag is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  }
  if (name.empty()) return refuse(why, "it has no name");

  std::string_view remainder = name;
  std::string domain(kDefaultDomain);
  if (const auto first = name.find('/'); first != std::string_view::npos) {
    const std::string_view head = name.substr(0, first);
    bool upper = false;
    for (char c : head) upper |= (c >= 'A' && c <= 'Z');
    if (head.find_first_of(".:") != std::string_view::npos || head == "localhost" || upper) {
      domain = std::string(head);
      remainder = name.substr(first + 1);
      if (!valid_domain(domain)) return refuse(why, "its domain is not HOST[:PORT]");
    }
  }
  if (domain == "index.docker.io") domain = kDefaultDomain;
  r.domain = domain;
  r.path = std::string(remainder);
  if (domain == kDefaultDomain && r.path.find('/') == std::string::npos) {
    if (r.path.size() == 64 && all_hex(r.path)) return refuse(why, "a 64-hex name is an image ID, not a repository");
    r.path = "library/" + r.path;
  }
  for (char c : r.path)
    if (c >= 'A' && c <= 'Z') return refuse(why, "its repository name is not lower-case");
  std::string_view rest = r.path;
  for (;;) {
    const auto s = rest.find('/');
    if (!valid_path_component(rest.substr(0, s))) return refuse(why, "its path is not lower-case components [a-z0-9] joined by '.', '_', '__' or '-'");
    if (s == std::string_view::npos) break;
    rest.remove_prefix(s + 1);
  }
  if (r.name().size() > kNameTotalLengthMax) return refuse(why, "its name is longer than 255 characters");
  return r;
}

ImageReference parse_image_reference(std::string_view text, std::string_view what) {
  std::string why;
  auto r = try_parse_image_reference(text, &why);
  if (!r) fail(Errc::bad_input, "{} '{}' is not an image reference: {}", what, printable(text.substr(0, 300)), why);
  return *r;
}

bool is_image_id(std::string_view text) {
  if (text.starts_with("sha256:")) {
    text.remove_prefix(7);
    if (text.size() != 64) return false;
  } else if (text.size() < 12 || text.size() > 64) {
    return false;
  }
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace dd
