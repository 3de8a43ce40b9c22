// A bounded queue of byte blocks between one writer thread and one reader thread: the writer
// blocks while the queue is full, the reader while it is empty. Either side can stop the other.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>

namespace dd {

class BlockQueue {
 public:
  // Thrown by push() once the reader has cancelled.
  struct Cancelled {};

  explicit BlockQueue(std::size_t max_queued_bytes) : max_queued_bytes_(max_queued_bytes) {}

  // Writer side. Blocks while the queue is full; throws Cancelled once the reader cancelled.
  void push(const char* data, std::size_t size);
  // Writer side: no more data. A non-null `error` is rethrown by pop() after the queued bytes.
  void finish(std::exception_ptr error = nullptr);

  // Reader side. Up to `size` bytes; 0 at the end; rethrows the writer's error at the end.
  std::size_t pop(char* buffer, std::size_t size);
  // Reader side: the reader will read no more; a waiting or later push() throws Cancelled.
  void cancel();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t max_queued_bytes_;
  std::size_t front_offset_ = 0;  // bytes of queue_.front() already read
  bool finished_ = false, cancelled_ = false;
  std::exception_ptr error_;
};

}  // namespace dd
