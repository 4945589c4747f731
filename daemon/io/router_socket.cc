#include "daemon/io/router_socket.h"

#include <cerrno>

namespace jobd {

RouterSocket::RouterSocket(zmq::context_t& context, std::chrono::milliseconds linger)
    : socket_(context, zmq::socket_type::router) {
  socket_.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
  // Sending to a peer that is gone fails (EHOSTUNREACH) instead of vanishing,
  // and a full peer queue says EAGAIN instead of dropping.
  socket_.set(zmq::sockopt::router_mandatory, 1);
  socket_.set(zmq::sockopt::router_handover, 1);
}

Status RouterSocket::Bind(const std::string& endpoint) {
  try {
    socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return SysError("bind", endpoint, e.num());
  }
  return Status::Ok();
}

Status RouterSocket::RestrictToUid(uid_t uid) {
  const int value = static_cast<int>(uid);
  if (zmq_setsockopt(socket_.handle(), ZMQ_IPC_FILTER_UID, &value, sizeof value) != 0) {
    return SysError("setsockopt", "ZMQ_IPC_FILTER_UID", zmq_errno());
  }
  return Status::Ok();
}

void RouterSocket::SetMaxMessageSize(int64_t bytes) {
  socket_.set(zmq::sockopt::maxmsgsize, bytes);
}

std::optional<RoutedMessage> RouterSocket::TryReceive() {
  try {
    zmq::message_t peer;
    if (!socket_.recv(peer, zmq::recv_flags::dontwait)) return std::nullopt;
    RoutedMessage message;
    message.peer = peer.to_string();
    // The rest of a multipart message is already here: ZeroMQ delivers
    // messages whole.
    while (socket_.get(zmq::sockopt::rcvmore)) {
      zmq::message_t part;
      if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;
      if (message.frames++ == 0) message.payload.assign(part.data<char>(), part.size());
    }
    return message;
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
}

Delivery RouterSocket::Send(const std::string& peer, const std::string& payload) {
  try {
    if (!socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return Delivery::kWouldBlock;
    }
    // Once the first frame is accepted the rest of the message is too.
    socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    return Delivery::kSent;
  } catch (const zmq::error_t& e) {
    return e.num() == EHOSTUNREACH ? Delivery::kGone : Delivery::kWouldBlock;
  }
}

}  // namespace jobd
