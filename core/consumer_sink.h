// The mirror of ProducerStream: bytes written here on the caller's thread are read, as a
// ByteStream, by a consumer running on its own thread — a tar writer in the pipeline feeding an
// HTTP upload, with no temporary file in between. At most a few blocks wait between them.
#pragma once

#include <exception>
#include <functional>
#include <thread>

#include "core/block_queue.h"
#include "core/byte_stream.h"

namespace dd {

class ConsumerSink {
 public:
  // Starts `consume` on a new thread. Its stream ends after close(); after abort() it throws.
  explicit ConsumerSink(std::function<void(ByteStream&)> consume, std::size_t max_queued_bytes = 8u << 20);
  // abort() unless close() was called.
  ~ConsumerSink();
  ConsumerSink(const ConsumerSink&) = delete;
  ConsumerSink& operator=(const ConsumerSink&) = delete;

  // Blocks while the queue is full. When the consumer has stopped, throws what it threw (or
  // Errc::io when it returned before the end).
  void write(const char* data, std::size_t size);
  // Ends the stream, waits for the consumer and rethrows what it threw.
  void close();
  // Makes the consumer's next read throw, and waits for it; what it throws is dropped.
  void abort() noexcept;

 private:
  class QueueStream : public ByteStream {
   public:
    explicit QueueStream(BlockQueue& queue) : queue_(queue) {}
    std::size_t read(char* buffer, std::size_t size) override { return queue_.pop(buffer, size); }

   private:
    BlockQueue& queue_;
  };
  [[noreturn]] void fail_stopped_consumer();

  BlockQueue queue_;
  QueueStream stream_{queue_};
  std::exception_ptr error_;  // what the consumer threw; read after join
  bool finished_ = false;
  std::thread thread_;
};

}  // namespace dd
