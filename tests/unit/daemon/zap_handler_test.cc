// The ZAP handler with real CURVE sockets on loopback tcp: the account a
// key maps to travels on its connection's messages to the RouterSocket,
// and a reload changes it for new connections.
#include "daemon/io/zap_handler.h"

#include <chrono>
#include <fstream>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zmq.hpp>

#include "daemon/io/router_socket.h"
#include "tests/unit/daemon/log_capture.h"
#include "tests/unit/scratch_dir.h"

namespace jobd {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr auto kDeadline = 10s;
constexpr const char* kNoSuchUser = "jobd-no-such-user";  // no local account of this name

CurveKeyPair NewKeyPair() {
  char public_key[kZ85KeyLength + 1] = {};
  char secret_key[kZ85KeyLength + 1] = {};
  EXPECT_EQ(zmq_curve_keypair(public_key, secret_key), 0);
  return CurveKeyPair{public_key, secret_key};
}

MappedKey Mapped(std::string name, const CurveKeyPair& keys, std::optional<LocalAccount> account) {
  return MappedKey{AuthorizedKey{std::move(name), keys.public_key, "", 1}, std::move(account)};
}

class ZapHandlerTest : public ::testing::Test {
 protected:
  ZapHandlerTest() : capture_(std::make_shared<LogCapture>()), log_("test", capture_) {}
  ~ZapHandlerTest() override {
    clients_.clear();  // every socket closes before the context does
    router_.reset();
    zap_.reset();
  }

  // The handler, then a CURVE router on a loopback port.
  void Start(std::vector<MappedKey> keys) {
    Result<std::unique_ptr<ZapHandler>> zap =
        ZapHandler::Start(context_, std::move(keys), dir_.path() + "/clients", log_);
    ASSERT_TRUE(zap.ok()) << zap.status().message();
    zap_ = std::move(*zap);
    router_ = std::make_unique<RouterSocket>(context_, 0ms);
    router_->ReadPeerMetadata(true);
    ASSERT_TRUE(router_->EnableCurveServer(server_.secret_key).ok());
    ASSERT_TRUE(router_->Bind("tcp://127.0.0.1:*").ok());
    endpoint_ = router_->socket().get(zmq::sockopt::last_endpoint);
  }

  // A new connection with `keys`.
  zmq::socket_t& Connect(const CurveKeyPair& keys) {
    auto dealer = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
    dealer->set(zmq::sockopt::linger, 0);
    dealer->set(zmq::sockopt::curve_serverkey, server_.public_key);
    dealer->set(zmq::sockopt::curve_publickey, keys.public_key);
    dealer->set(zmq::sockopt::curve_secretkey, keys.secret_key);
    dealer->connect(endpoint_);
    clients_.push_back(std::move(dealer));
    return *clients_.back();
  }

  // Sends a message on `dealer`; what the router made of it.
  std::optional<RoutedMessage> RoundTrip(zmq::socket_t& dealer) {
    dealer.send(zmq::str_buffer("hello"), zmq::send_flags::none);
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::optional<RoutedMessage> message = router_->TryReceive()) return message;
      zmq::pollitem_t item{router_->socket().handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now()));
    }
    ADD_FAILURE() << "no message within " << kDeadline.count() << " s; log:\n" << capture_->All();
    return std::nullopt;
  }

  void WriteKeysFile(const std::string& text) { std::ofstream(dir_.path() + "/clients") << text; }

  ScratchDir dir_;
  zmq::context_t context_;
  std::shared_ptr<LogCapture> capture_;
  spdlog::logger log_;
  const CurveKeyPair server_ = NewKeyPair();
  const CurveKeyPair alice_ = NewKeyPair();
  const CurveKeyPair guest_ = NewKeyPair();
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<RouterSocket> router_;
  std::string endpoint_;
  std::vector<std::unique_ptr<zmq::socket_t>> clients_;
};

TEST_F(ZapHandlerTest, AMappedKeysMessagesCarryItsAccountAnUnmappedKeysNone) {
  Start({Mapped("alice", alice_, LocalAccount{"alice", 4242, 4242}),
         Mapped("guest", guest_, std::nullopt)});
  EXPECT_TRUE(capture_->WaitFor("CURVE key 'alice'", 0ms));
  EXPECT_THAT(capture_->All(), HasSubstr("runs as alice (uid 4242)"));
  EXPECT_THAT(capture_->All(), HasSubstr("CURVE key 'guest' (" + dir_.path() +
                                         "/clients:1): no account: built-in tasks only"));

  std::optional<RoutedMessage> from_alice = RoundTrip(Connect(alice_));
  ASSERT_TRUE(from_alice.has_value());
  EXPECT_EQ(from_alice->user_id, "alice");
  EXPECT_EQ(from_alice->account, std::optional<uint32_t>(4242));

  std::optional<RoutedMessage> from_guest = RoundTrip(Connect(guest_));
  ASSERT_TRUE(from_guest.has_value());
  EXPECT_EQ(from_guest->user_id, "guest");
  EXPECT_FALSE(from_guest->account.has_value());
}

TEST_F(ZapHandlerTest, AReloadChangesTheAccountsOfNewConnections) {
  // No user=, and no account of its name: none. guest runs as nobody.
  WriteKeysFile(std::string(kNoSuchUser) + " " + alice_.public_key + "\n" + "guest " +
                guest_.public_key + " user=65534\n");
  Result<std::vector<AuthorizedKey>> keys = LoadAuthorizedKeys(dir_.path() + "/clients");
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  Result<KeyMapping> mapped =
      MapKeysToAccounts(std::move(*keys), dir_.path() + "/clients", UnknownAccount::kRefuse);
  ASSERT_TRUE(mapped.ok()) << mapped.status().message();
  Start(std::move(mapped->keys));

  zmq::socket_t& alice_before = Connect(alice_);
  std::optional<RoutedMessage> message = RoundTrip(alice_before);
  ASSERT_TRUE(message.has_value());
  EXPECT_FALSE(message->account.has_value());
  message = RoundTrip(Connect(guest_));
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->account, std::optional<uint32_t>(65534));

  // Now alice's key runs as nobody, and guest's names an account that is
  // none: a warning, and the key still gets in, with no account.
  WriteKeysFile(std::string(kNoSuchUser) + " " + alice_.public_key + " user=nobody\n" +
                "guest " + guest_.public_key + " user=" + kNoSuchUser + "\n");
  zap_->Reload();
  ASSERT_TRUE(capture_->WaitFor("authorised keys reloaded", kDeadline)) << capture_->All();
  EXPECT_THAT(capture_->All(), HasSubstr("/clients:2: user=jobd-no-such-user: no local account"));

  message = RoundTrip(Connect(alice_));
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->user_id, kNoSuchUser);
  EXPECT_EQ(message->account, std::optional<uint32_t>(65534));
  message = RoundTrip(Connect(guest_));
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->user_id, "guest");
  EXPECT_FALSE(message->account.has_value());
  // A connection keeps what its handshake gave it.
  message = RoundTrip(alice_before);
  ASSERT_TRUE(message.has_value());
  EXPECT_FALSE(message->account.has_value());
}

}  // namespace
}  // namespace jobd
