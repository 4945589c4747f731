// A stand-in for the coordinator in client tests: a ROUTER socket on
// ipc://<temp dir>/jobd.sock served by a thread, answering each request with
// whatever the test's handler returns.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include <gtest/gtest.h>

#include "client/client.h"
#include "proto/codec.h"
#include "proto/messages.h"

namespace jobd {

class FakeJobd {
 public:
  // Called on the server thread; the replies are sent in order.
  using Handler = std::function<std::vector<Reply>(const Request&)>;

  explicit FakeJobd(Handler handler) : handler_(std::move(handler)) {
    char dir[] = "/tmp/jobdc-XXXXXX";
    dir_ = ::mkdtemp(dir);
    endpoint_ = "ipc://" + dir_ + "/jobd.sock";
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint_);  // before the thread: Connect() finds the file at once
    thread_ = std::thread([this] { Run(); });
  }
  FakeJobd(const FakeJobd&) = delete;
  FakeJobd& operator=(const FakeJobd&) = delete;
  ~FakeJobd() {
    stop_ = true;
    thread_.join();
    socket_.close();
    std::filesystem::remove_all(dir_);
  }

  const std::string& endpoint() const { return endpoint_; }
  const std::string& dir() const { return dir_; }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  // The routing id each of requests() came from.
  std::vector<std::string> identities() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return identities_;
  }

  // The usual answer to a request: same version and id.
  static Reply ReplyTo(const Request& request, ReplyBody body) {
    return Reply{kProtocolVersion, request.request_id, std::move(body)};
  }

 private:
  void Run() {
    while (!stop_) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(20)) == 0) continue;
      zmq::message_t identity;
      zmq::message_t frame;
      if (!socket_.recv(identity, zmq::recv_flags::dontwait)) continue;
      if (!socket_.recv(frame, zmq::recv_flags::dontwait)) continue;
      Result<Request> request = DecodeRequest(frame.to_string_view());
      if (!request.ok()) continue;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(*request);
        identities_.push_back(identity.to_string());
      }
      for (const Reply& reply : handler_(*request)) {
        const std::string out = EncodeReply(reply);
        socket_.send(zmq::buffer(identity.to_string_view()), zmq::send_flags::sndmore);
        socket_.send(zmq::buffer(out), zmq::send_flags::none);
      }
    }
  }

  Handler handler_;
  std::string dir_;
  std::string endpoint_;
  zmq::context_t context_{1};
  zmq::socket_t socket_{context_, zmq::socket_type::router};
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Request> requests_;       // guarded by mutex_
  std::vector<std::string> identities_;  // guarded by mutex_
  std::thread thread_;
};

// A Client connected to `server`; fails the test (and returns null) if not.
inline std::unique_ptr<Client> MustConnect(const FakeJobd& server,
                                           Millis liveness = Millis(5000)) {
  ClientOptions options;
  options.endpoint = server.endpoint();
  options.liveness_timeout = liveness;
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status().message();
  return client.ok() ? std::move(*client) : nullptr;
}

}  // namespace jobd
