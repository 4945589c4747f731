// A ZeroMQ ROUTER as the loop uses it: non-blocking receive of
// [peer][payload] and send that says whether the peer took it.
// cppzmq's exceptions stop here.
#pragma once

#include <optional>
#include <string>

#include <zmq.hpp>

#include "daemon/core/supervisor_io.h"
#include "util/status.h"

namespace jobd {

struct RoutedMessage {
  std::string peer;     // the sender's routing id
  std::string payload;  // the first frame after the routing id
  size_t frames = 0;    // payload frames; 1 for a well-formed message
};

class RouterSocket {
 public:
  // `linger` bounds how long close waits to deliver what is queued.
  RouterSocket(zmq::context_t& context, std::chrono::milliseconds linger);
  RouterSocket(const RouterSocket&) = delete;
  RouterSocket& operator=(const RouterSocket&) = delete;

  Status Bind(const std::string& endpoint);
  // Only peers with this uid may connect (ipc endpoints).
  Status RestrictToUid(uid_t uid);
  void SetMaxMessageSize(int64_t bytes);

  zmq::socket_ref socket() { return socket_; }
  // The next message if one is waiting.
  std::optional<RoutedMessage> TryReceive();
  Delivery Send(const std::string& peer, const std::string& payload);

 private:
  zmq::socket_t socket_;
};

}  // namespace jobd
