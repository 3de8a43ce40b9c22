#include "clients/registry/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <optional>

#include "core/error.h"
#include "core/interruption.h"
#include "core/log.h"

namespace dd {
namespace {

constexpr std::size_t kErrorBody = 64u << 10;     // what is kept of a refused response's body
constexpr std::size_t kMaxErrorBody = 1u << 20;   // a refused response longer than this is cut off
constexpr int kMaxResumes = 3;                    // Range requests after a cut connection
constexpr long kRequestTimeout = 600;             // seconds for a request whose answer is held in memory

// Ctrl-C (or a cancelled prefetch thread) ends a transfer at libcurl's next progress call.
int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  try {
    throw_if_interrupted();
    return 0;
  } catch (...) {
    return 1;
  }
}

bool is_success(long status) { return status >= 200 && status < 300; }

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct HeaderList {
  curl_slist* list = nullptr;
  explicit HeaderList(const std::vector<std::string>& headers) {
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip before uploads
  }
  ~HeaderList() { curl_slist_free_all(list); }
};

struct Easy {
  CURL* handle;
  Easy() : handle(curl_easy_init()) {
    if (handle == nullptr) fail(Errc::internal, "libcurl could not make a handle");
  }
  ~Easy() { curl_easy_cleanup(handle); }
};

// The response headers of the last response (a redirect's are dropped when the next begins).
struct HeaderCollector {
  std::map<std::string, std::string> headers;
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self) noexcept try {
    auto& collected = static_cast<HeaderCollector*>(self)->headers;
    std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
      collected.clear();
      return size * count;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * count;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    if (collected.size() < 256 && value.size() < 16384) collected[name] = std::string(value);
    return size * count;
  } catch (...) {
    return 0;  // out of memory: abort the transfer rather than let an exception cross libcurl
  }
};

void configure(CURL* h, const TlsSettings& tls, const std::string& url, curl_slist* headers, HeaderCollector& collector) {
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 8L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  // An https registry may not redirect to plain http, where a manifest could be swapped.
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, url.starts_with("https://") ? "https" : "http,https");
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  // A registry that stops sending for a minute is dead: fail instead of hanging.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "docker_delta/" DOCKER_DELTA_VERSION);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &HeaderCollector::on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &collector);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  if (!tls.verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!tls.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.client_cert.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, tls.client_cert.c_str());
  if (!tls.client_key.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, tls.client_key.c_str());
}

// A response body kept in memory: a successful one up to `cap` (more aborts, as overflow); a
// refused one (an error document) up to kErrorBody, the rest read and dropped up to kMaxErrorBody.
struct CappedBody {
  CURL* handle;
  std::size_t cap;
  std::string bytes;
  std::size_t seen = 0;
  bool overflow = false;
  static std::size_t on_data(char* data, std::size_t size, std::size_t count, void* self) noexcept try {
    auto& body = *static_cast<CappedBody*>(self);
    const std::size_t n = size * count;
    long status = 0;
    curl_easy_getinfo(body.handle, CURLINFO_RESPONSE_CODE, &status);
    body.seen += n;
    if (!is_success(status)) {
      if (body.seen > kMaxErrorBody) return 0;
      if (body.bytes.size() < kErrorBody) body.bytes.append(data, std::min(n, kErrorBody - body.bytes.size()));
      return n;
    }
    if (body.bytes.size() + n > body.cap) {
      body.overflow = true;
      return 0;  // aborts the transfer
    }
    body.bytes.append(data, n);
    return n;
  } catch (...) {
    return 0;
  }
};

std::string transport_message(CURLcode code, const char* detail) {
  std::string text = detail != nullptr && *detail != '\0' ? detail : curl_easy_strerror(code);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

bool is_transient(const TransportFailure& failure) {
  switch (static_cast<CURLcode>(failure.curl_code)) {
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_OPERATION_TIMEDOUT: return true;
    default: return false;
  }
}

bool is_not_tls(const TransportFailure& failure) {
  return static_cast<CURLcode>(failure.curl_code) == CURLE_SSL_CONNECT_ERROR &&
         (failure.message.find("wrong version number") != std::string::npos ||
          failure.message.find("packet length too long") != std::string::npos ||
          failure.message.find("unexpected eof") != std::string::npos);
}

std::string url_for_messages(const std::string& url) {
  const auto query = url.find('?');
  return query == std::string::npos ? url : url.substr(0, query);
}

HttpClient::HttpClient(TlsSettings tls) : tls_(std::move(tls)) { global_init(); }
HttpClient::~HttpClient() = default;

namespace {

// One easy transfer whose answer is kept in memory: the handle, its headers, what comes back.
struct Exchange {
  Easy easy;
  HeaderList list;
  HeaderCollector collector;
  CappedBody body;
  char detail[CURL_ERROR_SIZE] = {};

  Exchange(const TlsSettings& tls, const std::string& url, const std::vector<std::string>& headers, std::size_t cap)
      : list(headers), body{easy.handle, cap} {
    configure(easy.handle, tls, url, list.list, collector);
    curl_easy_setopt(easy.handle, CURLOPT_WRITEFUNCTION, &CappedBody::on_data);
    curl_easy_setopt(easy.handle, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(easy.handle, CURLOPT_ERRORBUFFER, detail);
  }
  CURLcode perform() { return curl_easy_perform(easy.handle); }
  std::string message(CURLcode code) const { return transport_message(code, detail); }
  HttpResponse response() {
    HttpResponse r;
    curl_easy_getinfo(easy.handle, CURLINFO_RESPONSE_CODE, &r.status);
    r.headers = std::move(collector.headers);
    r.body = std::move(body.bytes);
    return r;
  }
};

struct UploadSource {
  ByteStream& source;
  std::uint64_t remaining;
  std::exception_ptr error;
  static std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* self) {
    auto& up = *static_cast<UploadSource*>(self);
    if (up.remaining == 0) return 0;
    try {
      throw_if_interrupted();
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size * count, up.remaining));
      const std::size_t n = up.source.read(buffer, want);
      if (n == 0) fail(Errc::integrity, "the blob ended {} bytes early", up.remaining);
      up.remaining -= n;
      return n;
    } catch (...) {
      up.error = std::current_exception();  // an exception may not cross libcurl
      return CURL_READFUNC_ABORT;
    }
  }
};

}  // namespace

HttpResponse HttpClient::request(const std::string& method, const std::string& url, const std::vector<std::string>& headers,
                                 std::string_view body_to_send, std::size_t max_body, const std::string& what,
                                 TransportFailure* failure) {
  throw_if_interrupted();
  Exchange x(tls_, url, headers, max_body);
  CURL* h = x.easy.handle;
  curl_easy_setopt(h, CURLOPT_TIMEOUT, kRequestTimeout);
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body_to_send.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_to_send.size()));
  }
  const CURLcode code = x.perform();
  throw_if_interrupted();
  if (x.body.overflow) fail(Errc::limit, "{}: the response is larger than {} bytes", what, max_body);
  if (code != CURLE_OK) {
    if (failure == nullptr) fail(Errc::io, "{}: {}", what, x.message(code));
    *failure = {static_cast<int>(code), x.message(code)};
    return {};
  }
  if (failure != nullptr) *failure = {};
  return x.response();
}

HttpResponse HttpClient::upload(const std::string& method, const std::string& url, const std::vector<std::string>& headers,
                                ByteStream& source, std::uint64_t length, const std::string& what) {
  throw_if_interrupted();
  Exchange x(tls_, url, headers, kErrorBody);
  CURL* h = x.easy.handle;
  UploadSource up{source, length, nullptr};
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_READFUNCTION, &UploadSource::on_read);
  curl_easy_setopt(h, CURLOPT_READDATA, &up);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(length));
  const CURLcode code = x.perform();
  if (up.error) std::rethrow_exception(up.error);
  throw_if_interrupted();
  if (code != CURLE_OK) fail(Errc::io, "{}: {}", what, x.message(code));
  return x.response();
}

namespace {

// A GET body pulled by the reader: libcurl's multi interface is driven from read(), one
// curl_multi_perform at a time and only when everything delivered before has been read. libcurl
// hands over at most about 100 reads of its 16 KiB buffer per call (and an HTTP/2 window), so
// memory stays at a few MiB whatever the blob's size; the socket's own backpressure holds the
// rest. (Pausing the transfer instead loses data on libcurl before 8.8.) A connection cut
// mid-way is resumed with a Range request from the first byte not yet delivered.
class StreamingGet : public ByteStream {
 public:
  StreamingGet(const TlsSettings& tls, std::string url, std::function<std::vector<std::string>()> headers,
               std::uint64_t length, std::string what)
      : tls_(tls), url_(std::move(url)), headers_(std::move(headers)), length_(length), what_(std::move(what)) {
    multi_ = curl_multi_init();
    if (multi_ == nullptr) fail(Errc::internal, "libcurl could not make a multi handle");
  }
  ~StreamingGet() override {
    end_transfer();
    curl_multi_cleanup(multi_);
  }

  // Waits for the first response: true when it is 200 and the body may be read.
  bool start(HttpResponse& refused) {
    begin_transfer();
    while (!body_started_ && !finished_ && !refused_) pump();
    if (!refused_ && !body_started_ && result_ != CURLE_OK) fail(Errc::io, "{}: {}", what_, transport_message(result_, detail_));
    if (refused_ || status_ != 200) {
      while (!finished_) pump();  // the rest of the (capped) error document
      refused.status = status_ != 0 ? status_ : status();
      refused.headers = collector_.headers;
      refused.body = error_body_;
      return false;
    }
    return true;
  }

  std::size_t read(char* buffer, std::size_t size) override {
    while (position_ == buffer_.size()) {
      buffer_.clear();
      position_ = 0;
      if (finished_) {
        if (delivered_ == length_ && result_ == CURLE_OK) return 0;
        if (failure_) fail(Errc::integrity, "{}: {}", what_, *failure_);
        if (!refused_ && resumes_ < kMaxResumes && delivered_ < length_) {
          ++resumes_;
          log::verbose("{}: the connection ended after {} of {} bytes ({}); resuming", what_, delivered_, length_,
                       result_ == CURLE_OK ? "closed" : transport_message(result_, detail_));
          begin_transfer();
          continue;
        }
        if (refused_) fail(Errc::io, "{}: resuming after {} bytes, the registry answered HTTP {}", what_, delivered_, status_);
        if (result_ != CURLE_OK) fail(Errc::io, "{}: {}", what_, transport_message(result_, detail_));
        fail(Errc::integrity, "{}: the registry sent {} of {} bytes", what_, delivered_, length_);
      }
      pump();
    }
    const std::size_t n = std::min(size, buffer_.size() - position_);
    std::copy_n(buffer_.data() + position_, n, buffer);
    position_ += n;
    return n;
  }

 private:
  long status() const {
    long code = 0;
    if (easy_ != nullptr) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }

  void begin_transfer() {
    end_transfer();
    finished_ = body_started_ = refused_ = false;
    result_ = CURLE_OK;
    status_ = 0;
    collector_.headers.clear();
    error_body_.clear();
    requested_from_ = delivered_;
    std::vector<std::string> headers = headers_();
    if (requested_from_ > 0) headers.push_back("Range: bytes=" + std::to_string(requested_from_) + "-");
    list_ = std::make_unique<HeaderList>(headers);
    easy_ = curl_easy_init();
    if (easy_ == nullptr) fail(Errc::internal, "libcurl could not make a handle");
    configure(easy_, tls_, url_, list_->list, collector_);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &StreamingGet::on_data);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    detail_[0] = '\0';
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, detail_);
    if (curl_multi_add_handle(multi_, easy_) != CURLM_OK) fail(Errc::internal, "{}: libcurl refused the transfer", what_);
  }

  void end_transfer() {
    if (easy_ == nullptr) return;
    curl_multi_remove_handle(multi_, easy_);
    curl_easy_cleanup(easy_);
    easy_ = nullptr;
  }

  void pump() {
    throw_if_interrupted();
    int running = 0;
    if (const CURLMcode code = curl_multi_perform(multi_, &running); code != CURLM_OK)
      fail(Errc::io, "{}: {}", what_, curl_multi_strerror(code));
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      finished_ = true;
      result_ = message->data.result;
      if (status_ == 0) status_ = status();
    }
    if (!finished_ && position_ == buffer_.size()) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }

  static std::size_t on_data(char* data, std::size_t size, std::size_t count, void* self) noexcept {
    try {
      return static_cast<StreamingGet*>(self)->take(data, size * count);
    } catch (...) {
      return 0;  // out of memory: abort rather than let an exception cross libcurl
    }
  }

  // The first bytes of a response say where in the blob it starts: a 206 at the offset asked
  // for (its Content-Range must say so), a 200 at 0 (a server that ignores Range). Bytes before
  // what was delivered already are dropped, so nothing reaches the reader twice.
  std::size_t take(const char* data, std::size_t n) {
    if (status_ == 0) {
      status_ = status();
      if (status_ == 200) {
        response_at_ = 0;
      } else if (status_ == 206 && requested_from_ > 0) {
        const auto it = collector_.headers.find("content-range");
        const std::string range = it == collector_.headers.end() ? std::string() : it->second;
        if (range.rfind("bytes " + std::to_string(requested_from_) + "-", 0) != 0) {
          failure_ = fmt::format("asked for bytes from {}, the registry sent '{}'", requested_from_, range.substr(0, 80));
          return 0;
        }
        response_at_ = requested_from_;
      } else {
        refused_ = true;
      }
    }
    if (refused_) {
      if (error_body_.size() >= kErrorBody) return 0;  // enough of it: end the transfer
      error_body_.append(data, std::min(n, kErrorBody - error_body_.size()));
      return n;
    }
    body_started_ = true;
    std::size_t offset = 0;
    if (response_at_ < delivered_) offset = static_cast<std::size_t>(std::min<std::uint64_t>(delivered_ - response_at_, n));
    response_at_ += n;
    const std::size_t usable = n - offset;
    if (delivered_ + usable > length_) {
      failure_ = fmt::format("the registry sent more than the {} bytes declared", length_);
      return 0;  // aborts the transfer
    }
    buffer_.append(data + offset, usable);
    delivered_ += usable;
    return n;
  }

  const TlsSettings& tls_;
  std::string url_;
  std::function<std::vector<std::string>()> headers_;
  std::uint64_t length_;
  std::string what_;
  CURLM* multi_ = nullptr;
  CURL* easy_ = nullptr;
  std::unique_ptr<HeaderList> list_;
  HeaderCollector collector_;
  char detail_[CURL_ERROR_SIZE] = {};
  std::string buffer_;
  std::size_t position_ = 0;
  std::uint64_t delivered_ = 0;       // bytes of the blob put into buffer_ so far; never decreases
  std::uint64_t requested_from_ = 0;  // where the current request asked to start
  std::uint64_t response_at_ = 0;     // the blob offset of the current response's next byte
  long status_ = 0;
  bool finished_ = false;
  bool body_started_ = false;
  bool refused_ = false;
  std::optional<std::string> failure_;
  CURLcode result_ = CURLE_OK;
  int resumes_ = 0;
  std::string error_body_;
};

}  // namespace

std::unique_ptr<ByteStream> HttpClient::open_stream(const std::string& url, std::function<std::vector<std::string>()> headers,
                                                    std::uint64_t length, const std::string& what, HttpResponse& refused) {
  auto stream = std::make_unique<StreamingGet>(tls_, url, std::move(headers), length, what);
  if (!stream->start(refused)) return nullptr;
  return stream;
}

}  // namespace dd
