#include "core/block_queue.h"

#include <algorithm>
#include <cstring>

#include "core/byte_stream.h"

namespace dd {

void BlockQueue::push(const char* data, std::size_t size) {
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

void BlockQueue::finish(std::exception_ptr error) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  error_ = std::move(error);
  changed_.notify_all();
}

std::size_t BlockQueue::pop(char* buffer, std::size_t size) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || finished_; });
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

void BlockQueue::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  changed_.notify_all();
}

}  // namespace dd
