// A ZeroMQ ROUTER as the loop uses it: non-blocking receive of
// [peer][payload] and send that says whether the peer took it.
// cppzmq's exceptions stop here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
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
  // It came on a connection made past the LimitConnections limit.
  bool over_limit = false;
  // Who sent it, as the transport vouches (with ReadPeerMetadata; empty when
  // the transport says nothing): ZeroMQ's "Peer-Address" (ipc:
  // "localhost:<uid>:<gid>:<pid>", tcp: the IP address) and "User-Id" (tcp
  // with CURVE: the name the ZAP handler gave the client's key).
  std::string peer_address;
  std::string user_id;
  // tcp with CURVE: the uid of the local account the ZAP handler mapped the
  // client's key to (kAccountProperty, zap_metadata.h); none for a key
  // without one, and on every other transport.
  std::optional<uint32_t> account;
};

class RouterSocket {
 public:
  // `linger` bounds how long close waits to deliver what is queued.
  RouterSocket(zmq::context_t& context, std::chrono::milliseconds linger);
  ~RouterSocket();
  RouterSocket(const RouterSocket&) = delete;
  RouterSocket& operator=(const RouterSocket&) = delete;

  Status Bind(const std::string& endpoint);
  // Binds an ipc endpoint whose socket file gets `mode` (e.g. 0660) and the
  // process's group: created no wider (the umask is narrowed around the
  // bind), then set exactly. Other endpoints bind as Bind does. The socket
  // file is removed with this object (if it is still the one bound), so that
  // a stopped jobd leaves no socket behind for clients to knock on.
  Status BindWithMode(const std::string& endpoint, mode_t mode);
  // Makes the socket a CURVE server with this secret key (Z85): clients must
  // know its public key, and ZAP (see ZapHandler) vets theirs. Before Bind.
  Status EnableCurveServer(const std::string& secret_key);
  // Fills RoutedMessage::peer_address, user_id and account.
  void ReadPeerMetadata(bool on) { read_peer_metadata_ = on; }
  // Whether a new connection with a routing id already in use takes it over
  // (on by default: a client that reconnects gets its replies).
  void AllowHandover(bool on) { socket_.set(zmq::sockopt::router_handover, on ? 1 : 0); }
  // Only peers with this uid may connect (ipc endpoints).
  Status RestrictToUid(uid_t uid);
  void SetMaxMessageSize(int64_t bytes);
  // Counts the connections with a socket monitor (accepted, disconnected) and
  // marks each one made while `max` others were admitted: its messages come
  // with over_limit set, and `on_refused(open connections)` hears of it once.
  // Call before Bind; then poll monitor() (a null socket without a limit)
  // and call ReadMonitor() when it is readable.
  Status LimitConnections(size_t max, std::function<void(size_t open)> on_refused);
  zmq::socket_ref monitor() { return monitor_; }
  // Reads the monitor's pending events without blocking.
  void ReadMonitor();
  size_t connections() const { return connections_.size(); }

  zmq::socket_ref socket() { return socket_; }
  // The next message if one is waiting.
  std::optional<RoutedMessage> TryReceive();
  Delivery Send(const std::string& peer, const std::string& payload);

 private:
  // Whether the connection on descriptor `fd` came past the limit.
  bool OverLimit(int fd);
  void RemoveSocketFile();

  // The ipc socket file BindWithMode made, known by its inode.
  struct SocketFile {
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
  };
  std::optional<SocketFile> socket_file_;

  zmq::context_t& context_;
  zmq::socket_t socket_;
  bool read_peer_metadata_ = false;
  bool curve_server_ = false;  // EnableCurveServer
  // Connection limit (LimitConnections): the monitor's end, and each open
  // connection's descriptor with whether it came past the limit.
  zmq::socket_t monitor_;
  size_t max_connections_ = 0;
  std::function<void(size_t)> on_refused_;
  std::map<int, bool> connections_;
  size_t admitted_ = 0;
};

}  // namespace jobd
