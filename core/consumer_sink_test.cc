#include "core/consumer_sink.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "core/producer_stream.h"

namespace dd {
namespace {

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i * 7 + i / 1000);
  return s;
}

TEST(ConsumerSink, ConsumerReadsEverythingWrittenThenTheEnd) {
  const std::string data = pattern(5 * kBlockSize + 17);
  std::string seen;
  ConsumerSink sink([&](ByteStream& in) { copy_stream(in, [&](const char* p, std::size_t n) { seen.append(p, n); }); },
                    2 * kBlockSize);  // smaller than the data: the writer must wait for the reader
  for (std::size_t at = 0; at < data.size(); at += 1000) sink.write(data.data() + at, std::min<std::size_t>(1000, data.size() - at));
  sink.close();
  EXPECT_EQ(seen, data);
}

TEST(ConsumerSink, ConsumerErrorReachesTheWriter) {
  ConsumerSink sink([](ByteStream& in) {
    char c;
    in.read(&c, 1);
    fail(Errc::bad_input, "refused after one byte");
  }, kBlockSize);
  const std::string data = pattern(8 * kBlockSize);
  try {
    // The queue holds one block; the writer blocks until the consumer has failed, then hears why.
    sink.write(data.data(), data.size());
    sink.close();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "refused after one byte");
  }
}

TEST(ConsumerSink, ConsumerThatStopsEarlyIsAnIoErrorForTheWriter) {
  ConsumerSink sink([](ByteStream&) {}, kBlockSize);
  const std::string data = pattern(8 * kBlockSize);
  try {
    sink.write(data.data(), data.size());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::io);
  }
}

TEST(ConsumerSink, AbandonedStreamMakesTheConsumerFail) {
  bool reached_end = false, failed = false;
  {
    ConsumerSink sink([&](ByteStream& in) {
      try {
        drain(in);
        reached_end = true;
      } catch (const Error&) {
        failed = true;
        throw;
      }
    });
    sink.write("partial", 7);
  }  // destroyed without close(): an upload must not look complete
  EXPECT_FALSE(reached_end);
  EXPECT_TRUE(failed);
}

TEST(ProducerStream, ReaderGetsWhatTheProducerWroteAndItsError) {
  const std::string data = pattern(3 * kBlockSize + 5);
  ProducerStream stream([&](const ProducerStream::Sink& out) {
    out(data.data(), data.size());
    fail(Errc::integrity, "bad after the data");
  }, kBlockSize);
  std::string seen;
  try {
    copy_stream(stream, [&](const char* p, std::size_t n) { seen.append(p, n); });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::integrity);
  }
  EXPECT_EQ(seen, data);
}

TEST(ProducerStream, ReaderThatStopsEarlyStopsTheProducer) {
  const std::string data = pattern(64 * kBlockSize);
  {
    ProducerStream stream([&](const ProducerStream::Sink& out) { out(data.data(), data.size()); }, kBlockSize);
    char c;
    EXPECT_EQ(stream.read(&c, 1), 1u);
  }  // must not hang waiting for a producer blocked on a full queue
}

}  // namespace
}  // namespace dd
