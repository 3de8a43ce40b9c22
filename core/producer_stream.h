// A pull stream fed by a push-style producer running on its own thread: a decoder that writes
// its output block by block can feed a stage that reads, with no temporary file in between and
// the two working on different cores. At most a few blocks wait between them.
#pragma once

#include <functional>
#include <thread>

#include "core/block_queue.h"
#include "core/byte_stream.h"

namespace dd {

class ProducerStream : public ByteStream {
 public:
  using Sink = std::function<void(const char*, std::size_t)>;
  // Starts `produce` on a new thread. Whatever it throws is rethrown by read().
  explicit ProducerStream(std::function<void(const Sink&)> produce, std::size_t max_queued_bytes = 8u << 20);
  // Stops the producer (its next write throws) and waits for it.
  ~ProducerStream() override;
  ProducerStream(const ProducerStream&) = delete;
  ProducerStream& operator=(const ProducerStream&) = delete;

  std::size_t read(char* buffer, std::size_t size) override { return queue_.pop(buffer, size); }

 private:
  BlockQueue queue_;
  std::thread thread_;
};

}  // namespace dd
