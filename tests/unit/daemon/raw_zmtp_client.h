// A ZMTP 3.0 client written by hand over a plain TCP socket, NULL security:
// it can put any property in its handshake, which a libzmq client cannot
// (libzmq lets an application add "X-" properties only). It stands for a
// hostile client. Every wait is bounded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "daemon/io/zap_metadata.h"

namespace jobd {

class RawZmtpClient {
 public:
  // Connects to 127.0.0.1:`port`; connected() says whether it could.
  explicit RawZmtpClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawZmtpClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawZmtpClient(const RawZmtpClient&) = delete;
  RawZmtpClient& operator=(const RawZmtpClient&) = delete;

  bool connected() const { return fd_ >= 0; }

  // The greeting and a READY with these properties (besides Socket-Type
  // DEALER); then, once the server's READY came (within `deadline`: a
  // message before it would break the handshake, so a libzmq peer waits for
  // it too), one message.
  bool Send(const std::map<std::string, std::string>& properties, const std::string& message,
            std::chrono::milliseconds deadline) {
    std::string greeting(64, '\0');
    greeting[0] = '\xff';  // signature: 0xff, 8 bytes of padding, 0x7f
    greeting[9] = '\x7f';
    greeting[10] = 3;  // version 3.0
    greeting[11] = 0;
    greeting.replace(12, 4, "NULL");  // mechanism, zero padded to 20 bytes; as-server 0
    std::string ready = "\x05READY" + EncodeMetadataProperty("Socket-Type", "DEALER");
    for (const auto& [name, value] : properties) ready += EncodeMetadataProperty(name, value);
    if (!Write(greeting) || !Write(ShortFrame(0x04, ready))) return false;

    const auto until = std::chrono::steady_clock::now() + deadline;
    std::string theirs;
    if (!Read(64, until, theirs)) return false;  // the server's greeting
    std::string header;  // its READY: flags 0x04 and a 1-byte size, or 0x06 and 8
    if (!Read(2, until, header)) return false;
    uint64_t size = static_cast<uint8_t>(header[1]);
    if (header[0] == '\x06') {
      std::string rest;
      if (!Read(7, until, rest)) return false;
      for (char c : rest) size = size << 8 | static_cast<uint8_t>(c);
    } else if (header[0] != '\x04') {
      return false;
    }
    std::string command;
    if (size > 4096 || !Read(static_cast<size_t>(size), until, command)) return false;
    if (command.rfind("\x05READY", 0) != 0) return false;  // an ERROR: refused
    return Write(ShortFrame(0x00, message));
  }

 private:
  // A frame of up to 255 bytes: flags (0x04: a command), size, body.
  static std::string ShortFrame(uint8_t flags, const std::string& body) {
    return std::string(1, static_cast<char>(flags)) +
           std::string(1, static_cast<char>(static_cast<uint8_t>(body.size()))) + body;
  }
  bool Write(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  bool Read(size_t count, std::chrono::steady_clock::time_point until, std::string& out) {
    out.clear();
    while (out.size() < count) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      pollfd p = {fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buffer[256];
      const ssize_t n = ::recv(fd_, buffer, std::min(sizeof buffer, count - out.size()), 0);
      if (n <= 0) return false;
      out.append(buffer, static_cast<size_t>(n));
    }
    return true;
  }

  int fd_ = -1;
};

}  // namespace jobd
