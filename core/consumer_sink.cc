#include "core/consumer_sink.h"

#include "core/error.h"

namespace dd {

ConsumerSink::ConsumerSink(std::function<void(ByteStream&)> consume, std::size_t max_queued_bytes)
    : queue_(max_queued_bytes) {
  thread_ = std::thread([this, consume = std::move(consume)] {
    try {
      consume(stream_);
    } catch (...) {
      error_ = std::current_exception();
    }
    queue_.cancel();  // a writer waiting for room must not wait forever
  });
}

ConsumerSink::~ConsumerSink() { abort(); }

void ConsumerSink::write(const char* data, std::size_t size) {
  try {
    queue_.push(data, size);
  } catch (const BlockQueue::Cancelled&) {
    fail_stopped_consumer();
  }
}

void ConsumerSink::fail_stopped_consumer() {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
  fail(Errc::io, "the reader stopped before the end of the stream");
}

void ConsumerSink::close() {
  finished_ = true;
  queue_.finish();
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
}

void ConsumerSink::abort() noexcept {
  if (!finished_) {
    finished_ = true;
    queue_.finish(std::make_exception_ptr(Error(Errc::internal, "the stream was abandoned")));
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace dd
