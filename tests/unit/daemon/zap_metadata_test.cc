// The account property on a connection: its encoding in a ZAP reply, its
// parsing, and what libzmq (4.3.4) makes of it when a client claims the
// same property in its own handshake.
#include "daemon/io/zap_metadata.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "daemon/io/router_socket.h"
#include "tests/unit/daemon/raw_zmtp_client.h"

namespace jobd {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 10s;

TEST(ZapMetadataTest, EncodesAPropertyAsZmtpDoes) {
  EXPECT_EQ(EncodeMetadataProperty("Jobd-Account", "1000"),
            std::string("\x0cJobd-Account\x00\x00\x00\x04" "1000", 21));
  EXPECT_EQ(EncodeMetadataProperty("A", ""), std::string("\x01" "A\x00\x00\x00\x00", 6));
  const std::string long_value(300, 'v');
  EXPECT_EQ(EncodeMetadataProperty("B", long_value).substr(0, 6),
            std::string("\x01" "B\x00\x00\x01\x2c", 6));
}

TEST(ZapMetadataTest, ParsesADecimalUidOnly) {
  EXPECT_EQ(ParseAccountProperty("0"), std::optional<uint32_t>(0));
  EXPECT_EQ(ParseAccountProperty("1000"), std::optional<uint32_t>(1000));
  EXPECT_EQ(ParseAccountProperty("4294967294"), std::optional<uint32_t>(4294967294u));
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "12a", "0x10", "4294967295", "4294967296"}) {
    EXPECT_FALSE(ParseAccountProperty(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseAccountProperty(nullptr).has_value());
}

int PortOf(zmq::socket_ref socket) {
  const std::string endpoint = socket.get(zmq::sockopt::last_endpoint);
  return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

// Answers one ZAP request: 200, with `metadata` as the reply's metadata.
class OneZapReply {
 public:
  OneZapReply(zmq::context_t& context, std::string metadata)
      : socket_(context, zmq::socket_type::rep) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("inproc://zeromq.zap.01");
    thread_ = std::thread([this, metadata = std::move(metadata)] {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(kDeadline)) <= 0) return;
      std::string request_id;
      for (int frame = 0;; ++frame) {
        zmq::message_t part;
        if (!socket_.recv(part, zmq::recv_flags::dontwait)) return;
        if (frame == 1) request_id = part.to_string();
        if (!part.more()) break;
      }
      for (const std::string& part : {std::string("1.0"), request_id, std::string("200"),
                                      std::string("OK"), std::string("raw")}) {
        socket_.send(zmq::buffer(part), zmq::send_flags::sndmore);
      }
      socket_.send(zmq::buffer(metadata), zmq::send_flags::none);
    });
  }
  ~OneZapReply() { thread_.join(); }

 private:
  zmq::socket_t socket_;
  std::thread thread_;
};

// The account property a ROUTER vetted by ZAP sees on a message from a
// client that claims Jobd-Account 0 in its handshake, when the ZAP reply
// carries `zap_metadata`. NULL security: the ZAP reply's metadata and the
// handshake's properties meet in the same place for CURVE
// (stream_engine_base_t::mechanism_ready).
std::optional<std::string> SeenWhenTheClientClaimsRoot(const std::string& zap_metadata) {
  zmq::context_t context;
  OneZapReply zap(context, zap_metadata);
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::zap_domain, "jobd");
  router.bind("tcp://127.0.0.1:*");
  RawZmtpClient client(PortOf(router));
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(client.Send({{kAccountProperty, "0"}}, "hello", kDeadline));

  zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, std::chrono::milliseconds(kDeadline)) <= 0) {
    ADD_FAILURE() << "no message within " << kDeadline.count() << " s";
    return std::nullopt;
  }
  zmq::message_t id, payload;
  EXPECT_TRUE(router.recv(id, zmq::recv_flags::dontwait));
  EXPECT_TRUE(router.recv(payload, zmq::recv_flags::dontwait));
  EXPECT_EQ(payload.to_string(), "hello");
  EXPECT_STREQ(zmq_msg_gets(payload.handle(), "User-Id"), "raw") << "the ZAP reply was taken";
  const char* account = zmq_msg_gets(payload.handle(), kAccountProperty);
  if (account == nullptr) return std::nullopt;
  return std::string(account);
}

TEST(ZapMetadataTest, LibzmqPrefersTheZapReplysPropertyToTheClientsOwn) {
  EXPECT_EQ(SeenWhenTheClientClaimsRoot(EncodeMetadataProperty(kAccountProperty, "4242")),
            std::optional<std::string>("4242"));
  // An empty value still wins: how the handler says "no account".
  EXPECT_EQ(SeenWhenTheClientClaimsRoot(EncodeMetadataProperty(kAccountProperty, "")),
            std::optional<std::string>(""));
  // Left out, the client's claim shows: why the handler never leaves it out.
  EXPECT_EQ(SeenWhenTheClientClaimsRoot(""), std::optional<std::string>("0"));
}

TEST(ZapMetadataTest, ARouterSocketWithoutCurveIgnoresAClaimedAccount) {
  zmq::context_t context;
  RouterSocket router(context, 0ms);
  router.ReadPeerMetadata(true);
  ASSERT_TRUE(router.Bind("tcp://127.0.0.1:*").ok());
  RawZmtpClient client(PortOf(router.socket()));
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send({{kAccountProperty, "0"}}, "hello", kDeadline));
  zmq::pollitem_t item{router.socket().handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_GT(zmq::poll(&item, 1, std::chrono::milliseconds(kDeadline)), 0);
  std::optional<RoutedMessage> message = router.TryReceive();
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->payload, "hello");
  EXPECT_FALSE(message->account.has_value());
}

}  // namespace
}  // namespace jobd
