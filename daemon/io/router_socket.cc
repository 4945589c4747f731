#include "daemon/io/router_socket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "daemon/io/zap_metadata.h"
#include "util/endpoints.h"

namespace jobd {

RouterSocket::RouterSocket(zmq::context_t& context, std::chrono::milliseconds linger)
    : context_(context), socket_(context, zmq::socket_type::router) {
  socket_.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
  // Sending to a peer that is gone fails (EHOSTUNREACH) instead of vanishing,
  // and a full peer queue says EAGAIN instead of dropping.
  socket_.set(zmq::sockopt::router_mandatory, 1);
  socket_.set(zmq::sockopt::router_handover, 1);
}

RouterSocket::~RouterSocket() {
  // The monitor stops before its reading end closes, so that the socket's
  // last events have nowhere to wait.
  if (monitor_) {
    zmq_socket_monitor(socket_.handle(), nullptr, 0);
    monitor_.close();
  }
  RemoveSocketFile();
}

void RouterSocket::RemoveSocketFile() {
  if (!socket_file_) return;
  // Only the file we bound: one that another jobd put in its place is its.
  struct stat st;
  if (::lstat(socket_file_->path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
      st.st_dev == socket_file_->dev && st.st_ino == socket_file_->ino) {
    ::unlink(socket_file_->path.c_str());
  }
  socket_file_.reset();
}

Status RouterSocket::Bind(const std::string& endpoint) {
  try {
    socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return SysError("bind", endpoint, e.num());
  }
  return Status::Ok();
}

Status RouterSocket::BindWithMode(const std::string& endpoint, mode_t mode) {
  const std::string path = IpcPath(endpoint);
  if (path.empty()) return Bind(endpoint);
  // Narrowed, never widened: a file another thread creates meanwhile gets
  // no more than it would have, and the socket no more than `mode`.
  const mode_t before = ::umask(0777);  // umask(2) cannot only read it
  ::umask(before | (0777 & ~mode));
  Status bound = Bind(endpoint);
  ::umask(before);
  if (!bound.ok()) return bound;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return SysError("stat", path, errno);
  // Its group is ours even in a set-group-ID directory.
  if (st.st_gid != ::getegid() &&
      ::chown(path.c_str(), static_cast<uid_t>(-1), ::getegid()) != 0) {
    return SysError("chown (to our group)", path, errno);
  }
  if (::chmod(path.c_str(), mode) != 0) return SysError("chmod", path, errno);
  socket_file_ = SocketFile{path, st.st_dev, st.st_ino};
  return Status::Ok();
}

Status RouterSocket::EnableCurveServer(const std::string& secret_key) {
  try {
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, secret_key);
    // A domain makes ZeroMQ ask the ZAP handler about every client.
    socket_.set(zmq::sockopt::zap_domain, "jobd");
    curve_server_ = true;
  } catch (const zmq::error_t& e) {
    return SysError("setsockopt", "CURVE server", e.num());
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

Status RouterSocket::LimitConnections(size_t max, std::function<void(size_t)> on_refused) {
  // ZeroMQ gives no count of a ROUTER's peers; its monitor tells each
  // connection accepted and lost, with its descriptor, and every message
  // carries the descriptor it came on (ZMQ_SRCFD).
  const std::string endpoint =
      "inproc://jobd-monitor-" + std::to_string(reinterpret_cast<uintptr_t>(this));
  if (zmq_socket_monitor(socket_.handle(), endpoint.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
    return SysError("zmq_socket_monitor", endpoint, zmq_errno());
  }
  try {
    monitor_ = zmq::socket_t(context_, zmq::socket_type::pair);
    // Unbounded: with a full queue ZeroMQ's I/O thread would wait for us.
    monitor_.set(zmq::sockopt::rcvhwm, 0);
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return SysError("connect", endpoint, e.num());
  }
  max_connections_ = max;
  on_refused_ = std::move(on_refused);
  return Status::Ok();
}

void RouterSocket::ReadMonitor() {
  if (!monitor_) return;
  try {
    while (true) {
      // [16-bit event, 32-bit value (the descriptor)][endpoint]
      zmq::message_t event;
      if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
      while (monitor_.get(zmq::sockopt::rcvmore)) {
        zmq::message_t rest;
        if (!monitor_.recv(rest, zmq::recv_flags::dontwait)) break;
      }
      if (event.size() < 6) continue;
      uint16_t id = 0;
      int32_t fd = 0;
      std::memcpy(&id, event.data<char>(), sizeof id);
      std::memcpy(&fd, event.data<char>() + sizeof id, sizeof fd);
      // A descriptor is closed after its "disconnected" and only then
      // reused: one ZeroMQ I/O thread sends both, in order.
      if (auto it = connections_.find(fd); it != connections_.end()) {
        if (!it->second) --admitted_;
        connections_.erase(it);
      }
      if (id != ZMQ_EVENT_ACCEPTED) continue;
      const bool over = admitted_ >= max_connections_;
      connections_.emplace(fd, over);
      if (over) {
        if (on_refused_) on_refused_(connections_.size());
      } else {
        ++admitted_;
      }
    }
  } catch (const zmq::error_t&) {
  }
}

bool RouterSocket::OverLimit(int fd) {
  // The connection's "accepted" may still wait on the monitor.
  if (connections_.count(fd) == 0) ReadMonitor();
  auto it = connections_.find(fd);
  return it != connections_.end() && it->second;
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
      if (message.frames++ != 0) continue;
      message.payload.assign(part.data<char>(), part.size());
      // The descriptor is on the frames from the wire, not on the routing id.
      if (monitor_) message.over_limit = OverLimit(zmq_msg_get(part.handle(), ZMQ_SRCFD));
      if (read_peer_metadata_) {
        // ZeroMQ puts a connection's metadata on the messages it delivers
        // from it, not on the routing id the ROUTER adds.
        if (const char* v = zmq_msg_gets(part.handle(), "Peer-Address")) message.peer_address = v;
        if (const char* v = zmq_msg_gets(part.handle(), "User-Id")) message.user_id = v;
        // Only where our ZAP handler vets every connection and always sets
        // the property: elsewhere a client's own handshake could claim it.
        if (curve_server_) {
          message.account = ParseAccountProperty(zmq_msg_gets(part.handle(), kAccountProperty));
        }
      }
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
