// A hostile client against a live jobd: raw ZeroMQ peers send random
// frames, truncated and multi-frame messages, lists claiming 2^29 elements,
// other protocol versions, oversized frames, a flood of small bad messages
// and more connections than --max-clients allows. Each bad message gets its
// error; afterwards jobd still runs jobs, answers pings and holds little
// memory. Every wait has a deadline.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "proto/codec.h"
#include "tests/integration/harness.h"
#include "util/resident_set.h"

namespace jobd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The limits the tests start jobd with: low, so that going past them is
// cheap.
constexpr size_t kMaxMessage = 1 << 20;
constexpr int kMaxClients = 8;

// A raw DEALER on jobd's client socket.
class RawPeer {
 public:
  RawPeer(zmq::context_t& context, const std::string& endpoint)
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    // A send that cannot go out in time fails the test instead of hanging.
    socket_.set(zmq::sockopt::sndtimeo, 10'000);
    socket_.set(zmq::sockopt::sndhwm, 0);
    socket_.connect(endpoint);
  }

  bool Send(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!socket_.send(zmq::buffer(frames[i]), flags)) return false;
    }
    return true;
  }
  bool Send(const std::string& frame) { return Send(std::vector<std::string>{frame}); }

  // The next reply, decoded; none within `limit`.
  std::optional<Reply> Receive(milliseconds limit) {
    zmq::pollitem_t item = {socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, limit) == 0) return std::nullopt;
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return std::nullopt;
    Result<Reply> reply = DecodeReply(frame.to_string_view());
    if (!reply.ok()) {
      ADD_FAILURE() << "jobd sent a reply we cannot read: " << reply.status().message();
      return std::nullopt;
    }
    return *reply;
  }

  std::optional<Reply> Exchange(const std::vector<std::string>& frames,
                                milliseconds limit = milliseconds(5000)) {
    if (!Send(frames)) return std::nullopt;
    return Receive(limit);
  }
  std::optional<Reply> Exchange(const std::string& frame, milliseconds limit = milliseconds(5000)) {
    return Exchange(std::vector<std::string>{frame}, limit);
  }

 private:
  zmq::socket_t socket_;
};

std::string Ping(RequestId id) {
  return EncodeRequest(Request{kProtocolVersion, id, PingRequest{}});
}

std::optional<ErrorReply> AsError(const std::optional<Reply>& reply) {
  if (!reply || !std::holds_alternative<ErrorReply>(reply->body)) return std::nullopt;
  return std::get<ErrorReply>(reply->body);
}

// An error from the decoder (logged as "bad client request"), rather than
// one about a request that was read.
bool IsDecodeError(const std::optional<ErrorReply>& error) {
  if (!error || error->code != ErrorCode::kBadRequest) return false;
  for (const char* start :
       {"malformed message", "truncated message", "empty message", "unknown request type"}) {
    if (error->message.rfind(start, 0) == 0) return true;
  }
  return false;
}

uint64_t Word(const std::string& frame, size_t offset) {
  uint64_t word = 0;
  std::memcpy(&word, frame.data() + offset, sizeof word);
  return word;
}
void SetWord(std::string& frame, size_t offset, uint64_t word) {
  std::memcpy(frame.data() + offset, &word, sizeof word);
}

// A submit of one task whose list of tasks is rewritten to claim `count`
// elements of no size at all: a few bytes that would read as `count`
// tasks. `padding` bytes of default task name make the frame larger.
std::string SubmitClaiming(uint64_t count, size_t padding) {
  SubmitRequest submit;
  submit.default_task = std::string(padding, 'p');
  submit.tasks.push_back(TaskInput{"", {"x"}});
  std::string frame = EncodeRequest(Request{kProtocolVersion, 77, submit});
  // The list's tag word: one element (bits 2..31) of 0 data and 2 pointer words.
  const uint64_t tag = (uint64_t{1} << 2) | (uint64_t{2} << 48);
  for (size_t at = 8; at + 8 <= frame.size(); at += 8) {
    if (Word(frame, at) != tag) continue;
    // The composite-list pointer aimed at that tag: type 1, element size 7.
    for (size_t p = 8; p < at; p += 8) {
      const uint64_t w = Word(frame, p);
      if ((w & 3) != 1 || ((w >> 32) & 7) != 7) continue;
      const int64_t offset = static_cast<int32_t>(static_cast<uint32_t>(w)) >> 2;
      if (static_cast<int64_t>(p / 8) + 1 + offset != static_cast<int64_t>(at / 8)) continue;
      SetWord(frame, p, w & 0x7ffffffffull);  // no words of content
      SetWord(frame, at, count << 2);         // `count` elements of no size
      return frame;
    }
  }
  ADD_FAILURE() << "no task list found in the encoded submit";
  return frame;
}

int CountLogLines(const std::string& path, const std::string& text) {
  int count = 0;
  for (const std::string& line : ReadLines(path)) {
    if (line.find(text) != std::string::npos) ++count;
  }
  return count;
}

class HostileClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jobd_ = Jobd::Start(
        {"--max-message-size", std::to_string(kMaxMessage), "--max-clients",
         std::to_string(kMaxClients), "--max-tasks-per-job", "1000", "--max-task-bytes", "4K"},
        2);
    ASSERT_NE(jobd_, nullptr);
  }

  // jobd still serves: a ping, then a real job through jobctl.
  void ExpectServing() {
    CommandResult ping = jobd_->Jobctl({"ping"}, seconds(20));
    EXPECT_EQ(ping.exit_code, 0) << ping.err;
    CommandResult map =
        jobd_->Jobctl({"--json", "map", "--ordered", "echo", "a", "b"}, seconds(30));
    ASSERT_EQ(map.exit_code, 0) << map.err;
    std::vector<json> lines = JsonLines(map.out);
    ASSERT_EQ(lines.size(), 2u) << map.out;
    EXPECT_EQ(lines[0]["result"], "a");
    EXPECT_EQ(lines[1]["result"], "b");
  }

  zmq::context_t context_;
  std::unique_ptr<Jobd> jobd_;
};

TEST_F(HostileClientTest, EveryKindOfBadMessageGetsItsErrorAndJobdGoesOn) {
  RawPeer peer(context_, jobd_->endpoint());
  const std::string ping = Ping(1);
  int bad = 0;  // messages that each get a "bad client request" log line

  {
    SCOPED_TRACE("truncated messages, cut at every length");
    SubmitRequest submit;
    submit.default_task = "echo";
    submit.tasks = {TaskInput{"", {"a"}}, TaskInput{"", {"b", "c"}}};
    const std::string whole = EncodeRequest(Request{kProtocolVersion, 5, submit});
    for (size_t cut = 0; cut < whole.size(); ++cut) {
      const std::optional<ErrorReply> error = AsError(peer.Exchange(whole.substr(0, cut)));
      ASSERT_TRUE(error) << "cut at " << cut;
      EXPECT_EQ(error->code, ErrorCode::kBadRequest) << "cut at " << cut;
      ++bad;
    }
  }
  {
    SCOPED_TRACE("multi-frame messages");
    for (size_t frames : {2, 3, 10}) {
      const std::optional<ErrorReply> error =
          AsError(peer.Exchange(std::vector<std::string>(frames, ping)));
      ASSERT_TRUE(error);
      EXPECT_THAT(error->message, HasSubstr("got " + std::to_string(frames)));
    }
  }
  {
    SCOPED_TRACE("lists claiming far more elements than the message holds");
    // Past the traversal limit (4 words read for each word sent), Cap'n Proto
    // reads such a list as empty: a job of no tasks.
    for (size_t padding : {0, 60'000}) {
      const std::optional<ErrorReply> error =
          AsError(peer.Exchange(SubmitClaiming(1u << 29, padding)));
      ASSERT_TRUE(error) << padding;
      EXPECT_EQ(error->code, ErrorCode::kBadRequest);
      EXPECT_THAT(error->message, HasSubstr("at least one task"));
    }
    // Within it, the decoder refuses more elements than the message has words.
    for (const auto& [count, padding] : {std::pair<uint64_t, size_t>{1000, 0}, {20'000, 60'000}}) {
      const std::optional<ErrorReply> error =
          AsError(peer.Exchange(SubmitClaiming(count, padding)));
      ASSERT_TRUE(error) << count;
      EXPECT_EQ(error->code, ErrorCode::kBadRequest);
      EXPECT_THAT(error->message, HasSubstr("malformed message: tasks claims " +
                                            std::to_string(count) + " elements"));
      ++bad;
    }
  }
  {
    SCOPED_TRACE("other protocol versions");
    for (uint16_t version : {0, 2, 65535}) {
      const std::optional<Reply> reply =
          peer.Exchange(EncodeRequest(Request{version, 40u + version, PingRequest{}}));
      const std::optional<ErrorReply> error = AsError(reply);
      ASSERT_TRUE(error) << version;
      EXPECT_EQ(error->code, ErrorCode::kVersionMismatch);
      EXPECT_EQ(reply->request_id, 40u + version);
    }
  }
  {
    SCOPED_TRACE("random frames, half of them with a plausible segment table");
    std::mt19937_64 random(20261122);
    int replies = 0;
    const int frames = 2000;
    for (int i = 0; i < frames; ++i) {
      std::string frame(random() % 257, '\0');
      for (char& c : frame) c = static_cast<char>(random());
      if (i % 2 == 1 && frame.size() >= 16) {
        frame.resize(frame.size() / 8 * 8);
        const uint32_t header[2] = {0, static_cast<uint32_t>(frame.size() / 8 - 1)};
        std::memcpy(frame.data(), header, sizeof header);
      }
      const std::optional<Reply> reply = peer.Exchange(frame, milliseconds(2000));
      if (reply) ++replies;
      if (IsDecodeError(AsError(reply))) ++bad;
    }
    // A random frame that reads as a valid ack is the only one with no answer.
    EXPECT_GE(replies, frames - 10);
  }
  {
    SCOPED_TRACE("a request over --max-message-size, then one over twice that");
    const std::optional<ErrorReply> error =
        AsError(peer.Exchange(std::string(kMaxMessage + 8, '\0')));
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, ErrorCode::kBadRequest);
    EXPECT_THAT(error->message, HasSubstr("over jobd's limit of " + std::to_string(kMaxMessage)));
    // ZeroMQ drops this one unread, with the connection (which the DEALER
    // makes again by itself): no answer.
    EXPECT_FALSE(peer.Exchange(std::string(2 * kMaxMessage + 8, '\0'), milliseconds(1000)));
    std::optional<Reply> pong = peer.Exchange(Ping(2), milliseconds(10'000));
    ASSERT_TRUE(pong);
    EXPECT_TRUE(std::holds_alternative<PongReply>(pong->body));
  }
  {
    SCOPED_TRACE("a flood of small bad messages, with pings answered meanwhile");
    RawPeer other(context_, jobd_->endpoint());
    const int flood = 20'000;
    const auto start = Clock::now();
    int replies = 0;
    for (int sent = 0; sent < flood;) {
      for (int i = 0; i < 500; ++i, ++sent) {
        ASSERT_TRUE(peer.Send(std::string(8, static_cast<char>(0xff))));
      }
      // A ping from another client while those are in flight.
      if (sent % 5000 == 0) {
        const auto before = Clock::now();
        std::optional<Reply> pong = other.Exchange(Ping(100u + sent));
        ASSERT_TRUE(pong);
        EXPECT_TRUE(std::holds_alternative<PongReply>(pong->body));
        EXPECT_LT(Clock::now() - before, seconds(2)) << "a ping waited behind the flood";
      }
      // Read what came back, so that jobd never finds us not reading.
      while (replies < sent) {
        const std::optional<ErrorReply> error = AsError(peer.Receive(milliseconds(5000)));
        ASSERT_TRUE(error) << "no error for bad message " << replies;
        EXPECT_EQ(error->code, ErrorCode::kBadRequest);
        ++replies;
      }
    }
    bad += flood;
    std::printf("%d bad messages answered in %.1f s\n", flood,
                std::chrono::duration<double>(Clock::now() - start).count());
  }

  ExpectServing();
  const uint64_t rss = ResidentBytes(jobd_->pid());
  std::printf("jobd RSS after the hostile client: %.1f MiB\n",
              static_cast<double>(rss) / (1 << 20));
#if !defined(__SANITIZE_ADDRESS__)  // ASan's quarantine holds freed memory
  EXPECT_GT(rss, 0u);
  EXPECT_LT(rss, uint64_t{100} << 20);
#endif
  EXPECT_EQ(jobd_->StopWith(SIGTERM), 0);
  // One log line per bad message (and none for the one ZeroMQ dropped).
  EXPECT_EQ(CountLogLines(jobd_->log_path(), "bad client request"), bad);
  EXPECT_EQ(CountLogLines(jobd_->log_path(), "frames; expected 1"), 3);
  EXPECT_EQ(CountLogLines(jobd_->log_path(), "--max-message-size"), 1);
}

TEST_F(HostileClientTest, JobsPastTheTaskLimitsAreRefusedWithTheLimitNamed) {
  CommandResult many = jobd_->Jobctl(Concat({"map", "echo"}, Numbers(1001)));
  EXPECT_EQ(many.exit_code, 2) << many.out;
  EXPECT_THAT(many.err, HasSubstr("job has 1001 tasks; the limit is 1000"));

  CommandResult big = jobd_->Jobctl({"map", "echo", "ok", std::string(5000, 'x')});
  EXPECT_EQ(big.exit_code, 2) << big.out;
  EXPECT_THAT(big.err, HasSubstr("task 1 has 5000 bytes of arguments; the limit is 4096"));

  // A request over --max-message-size: jobctl knows the limit from jobd's
  // pong and does not send it. 300 tasks of 3,500 bytes: each task and the
  // job are within their limits, the message is not.
  CommandResult huge = jobd_->Jobctl(Concat({"map", "echo"}, Repeat(std::string(3500, 'y'), 300)));
  EXPECT_EQ(huge.exit_code, 2) << huge.out;
  EXPECT_THAT(huge.err, HasSubstr("over jobd's limit of " + std::to_string(kMaxMessage) +
                                  " bytes (its --max-message-size)"));

  ExpectServing();
  EXPECT_EQ(jobd_->StopWith(SIGTERM), 0);
  EXPECT_EQ(CountLogLines(jobd_->log_path(), "(--max-tasks-per-job)"), 1);
  EXPECT_EQ(CountLogLines(jobd_->log_path(), "(--max-task-bytes)"), 1);
  EXPECT_EQ(CountLogLines(jobd_->log_path(), "(--max-message-size)"), 0);  // never sent
  EXPECT_EQ(CountLogLines(jobd_->log_path(), "job accepted"), 1);  // ExpectServing's
}

TEST_F(HostileClientTest, ConnectionsPastMaxClientsGetAnErrorUntilOthersLeave) {
  // Admitted: each answers a ping.
  std::vector<std::unique_ptr<RawPeer>> admitted;
  for (int i = 0; i < kMaxClients; ++i) {
    admitted.push_back(std::make_unique<RawPeer>(context_, jobd_->endpoint()));
    std::optional<Reply> pong = admitted.back()->Exchange(Ping(1));
    ASSERT_TRUE(pong) << i;
    ASSERT_TRUE(std::holds_alternative<PongReply>(pong->body)) << i;
  }
  // Past the limit: every request gets the error, with its request id.
  const int extra = 4;
  std::vector<std::unique_ptr<RawPeer>> refused;
  for (int i = 0; i < extra; ++i) {
    refused.push_back(std::make_unique<RawPeer>(context_, jobd_->endpoint()));
    for (RequestId id : {7u, 8u}) {
      std::optional<Reply> reply = refused.back()->Exchange(Ping(id));
      const std::optional<ErrorReply> error = AsError(reply);
      ASSERT_TRUE(error) << i;
      EXPECT_EQ(error->code, ErrorCode::kQueueFull);
      EXPECT_THAT(error->message, HasSubstr("too many clients"));
      EXPECT_THAT(error->message, HasSubstr(std::to_string(kMaxClients)));
      EXPECT_EQ(reply->request_id, id);
    }
  }
  CommandResult turned_away = jobd_->Jobctl({"ping"});
  EXPECT_EQ(turned_away.exit_code, 2);
  EXPECT_THAT(turned_away.err, HasSubstr("too many clients"));
  // The admitted ones are still served.
  std::optional<Reply> pong = admitted.front()->Exchange(Ping(3));
  ASSERT_TRUE(pong);
  EXPECT_TRUE(std::holds_alternative<PongReply>(pong->body));

  // Once the admitted ones leave, new clients get in again; jobd learns of
  // each departure on its own schedule, so ask until it has.
  admitted.clear();
  EXPECT_TRUE(Eventually([&] { return jobd_->Jobctl({"ping"}).exit_code == 0; }, seconds(20),
                         milliseconds(100)));
  ExpectServing();
  EXPECT_EQ(jobd_->StopWith(SIGTERM), 0);
  EXPECT_GE(CountLogLines(jobd_->log_path(), "(--max-clients;"), extra + 1);
}

}  // namespace
}  // namespace jobd::testing
