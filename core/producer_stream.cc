#include "core/producer_stream.h"

namespace dd {

ProducerStream::ProducerStream(std::function<void(const Sink&)> produce, std::size_t max_queued_bytes)
    : queue_(max_queued_bytes) {
  thread_ = std::thread([this, produce = std::move(produce)] {
    std::exception_ptr error;
    try {
      produce([this](const char* p, std::size_t n) { queue_.push(p, n); });
    } catch (const BlockQueue::Cancelled&) {
    } catch (...) {
      error = std::current_exception();
    }
    queue_.finish(error);
  });
}

ProducerStream::~ProducerStream() {
  queue_.cancel();
  thread_.join();
}

}  // namespace dd
