// CURVE authentication for a tcp:// client endpoint: jobd's key pair, the
// authorised client keys, and the ZAP handler (ZeroMQ's authentication
// protocol, RFC 27) that checks each client's key during its handshake, on
// a thread of its own so that the event loop never waits for it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "daemon/io/key_accounts.h"
#include "util/curve_keys.h"
#include "util/status.h"

namespace jobd {

// Reads jobd's key pair (--curve-secret-key, written by jobctl keygen).
// Refuses a file that other users may read, or whose keys do not match.
Result<CurveKeyPair> LoadCurveKeyPair(const std::string& path);

// Reads the authorised client keys (--curve-authorized-keys).
Result<std::vector<AuthorizedKey>> LoadAuthorizedKeys(const std::string& path);

class ZapHandler {
 public:
  // Binds ZeroMQ's ZAP endpoint (inproc://zeromq.zap.01) in `context` and
  // answers on a thread of its own: a CURVE client whose public key is among
  // `keys` is let in, its key's name becoming the User-Id of its messages;
  // any other is refused and logged (warning, with its key in Z85 and its
  // address; once a minute at most per key). Each connection let in gets
  // the kAccountProperty (zap_metadata.h): its key's account's uid, or
  // empty. Logs which account each key runs as. Start it before any CURVE
  // socket of `context` binds: with no handler, ZeroMQ lets every key in.
  // `keys_path` is what Reload() reads again.
  static Result<std::unique_ptr<ZapHandler>> Start(zmq::context_t& context,
                                                   std::vector<MappedKey> keys,
                                                   std::string keys_path, spdlog::logger& log);
  // Stops the thread and closes the ZAP endpoint.
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Reads the keys file again, on the handler's thread (the caller does not
  // wait); new handshakes use the new list, and the accounts looked up
  // again (a user= naming no account: a warning, and the key has none). A
  // file that does not parse leaves the old list in place, with an error in
  // the log.
  void Reload();

 private:
  ZapHandler(zmq::context_t& context, std::string keys_path, spdlog::logger& log);
  void Run();
  void Answer();
  void ReloadKeys();
  void SetKeys(const std::vector<MappedKey>& keys);
  bool ShouldLogRefusal(const std::string& key);

  const std::string keys_path_;
  spdlog::logger& log_;
  zmq::socket_t zap_;       // the handler thread's once started
  zmq::socket_t control_;   // the handler thread's end: "reload", "stop"
  zmq::socket_t commands_;  // the owner's end
  // Handler thread only, once started.
  struct Client {
    std::string name;
    std::optional<uint32_t> account;  // uid
  };
  std::map<std::string, Client> clients_;  // by Z85 key
  std::map<std::string, std::chrono::steady_clock::time_point> refused_logged_;
  std::thread thread_;
};

}  // namespace jobd
