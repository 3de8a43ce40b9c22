#include "pipeline/producer_stream.h"

#include <algorithm>
#include <cstring>

namespace dd {

ProducerStream::ProducerStream(std::function<void(const Sink&)> produce, std::size_t max_queued_bytes)
    : max_queued_bytes_(max_queued_bytes) {
  thread_ = std::thread([this, produce = std::move(produce)] {
    std::exception_ptr error;
    try {
      produce([this](const char* p, std::size_t n) { push(p, n); });
    } catch (const Cancelled&) {
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    error_ = error;
    done_ = true;
    changed_.notify_all();
  });
}

ProducerStream::~ProducerStream() {
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    changed_.notify_all();
  }
  thread_.join();
}

void ProducerStream::push(const char* data, std::size_t size) {
  while (size > 0) {
    const std::size_t n = std::min<std::size_t>(size, kBlockSize);
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return cancelled_ || queued_bytes_ < max_queued_bytes_; });
    if (cancelled_) throw Cancelled{};
    queue_.emplace_back(data, n);
    queued_bytes_ += n;
    changed_.notify_all();
    data += n;
    size -= n;
  }
}

std::size_t ProducerStream::read(char* buffer, std::size_t size) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || done_; });
  if (queue_.empty()) {
    if (error_) std::rethrow_exception(error_);
    return 0;
  }
  std::string& front = queue_.front();
  const std::size_t n = std::min(size, front.size() - front_offset_);
  std::memcpy(buffer, front.data() + front_offset_, n);
  front_offset_ += n;
  if (front_offset_ == front.size()) {
    queued_bytes_ -= front.size();
    queue_.pop_front();
    front_offset_ = 0;
    changed_.notify_all();
  }
  return n;
}

}  // namespace dd
