#include "daemon/io/zap_handler.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>

#include <fmt/format.h>

#include "daemon/io/zap_metadata.h"

namespace jobd {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr auto kRefusalLogInterval = std::chrono::minutes(1);
constexpr size_t kMaxRememberedRefusals = 1024;

std::string Z85(const zmq::message_t& key) {
  if (key.size() != 32) return "(a key of " + std::to_string(key.size()) + " bytes)";
  char text[kZ85KeyLength + 1] = {};
  if (zmq_z85_encode(text, key.data<uint8_t>(), key.size()) == nullptr) return "(unencodable)";
  return text;
}

}  // namespace

Result<CurveKeyPair> LoadCurveKeyPair(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return SysError("stat", path, errno);
  if ((st.st_mode & S_IRWXO) != 0) {
    return Status::InvalidArgument(fmt::format(
        "{} holds jobd's secret key but every user may read it (mode {:04o}): chmod o-rwx {}",
        path, st.st_mode & 07777, path));
  }
  Result<std::string> text = ReadKeyFile(path);
  if (!text.ok()) return text.status();
  Result<CurveKeyPair> keys = ParseKeyPairFile(*text, path);
  if (!keys.ok()) return keys.status();
  char derived[kZ85KeyLength + 1] = {};
  if (zmq_curve_public(derived, keys->secret_key.c_str()) != 0 ||
      keys->public_key != derived) {
    return Status::InvalidArgument(path + ": its public-key is not the secret-key's");
  }
  return keys;
}

Result<std::vector<AuthorizedKey>> LoadAuthorizedKeys(const std::string& path) {
  Result<std::string> text = ReadKeyFile(path);
  if (!text.ok()) return text.status();
  return ParseAuthorizedKeys(*text, path);
}

ZapHandler::ZapHandler(zmq::context_t& context, std::string keys_path, spdlog::logger& log)
    : keys_path_(std::move(keys_path)),
      log_(log),
      zap_(context, zmq::socket_type::rep),
      control_(context, zmq::socket_type::pair),
      commands_(context, zmq::socket_type::pair) {
  for (zmq::socket_t* socket : {&zap_, &control_, &commands_}) {
    socket->set(zmq::sockopt::linger, 0);
  }
}

Result<std::unique_ptr<ZapHandler>> ZapHandler::Start(zmq::context_t& context,
                                                      std::vector<MappedKey> keys,
                                                      std::string keys_path,
                                                      spdlog::logger& log) {
  std::unique_ptr<ZapHandler> handler(new ZapHandler(context, std::move(keys_path), log));
  const std::string control =
      "inproc://jobd-zap-control-" + std::to_string(reinterpret_cast<uintptr_t>(handler.get()));
  try {
    handler->zap_.bind(kZapEndpoint);
    handler->control_.bind(control);
    handler->commands_.connect(control);
  } catch (const zmq::error_t& e) {
    return SysError("bind", kZapEndpoint, e.num());
  }
  handler->SetKeys(keys);
  // The sockets change hands here; starting a thread is a full barrier.
  handler->thread_ = std::thread([h = handler.get()] { h->Run(); });
  return handler;
}

ZapHandler::~ZapHandler() {
  if (thread_.joinable()) {
    try {
      commands_.send(zmq::str_buffer("stop"), zmq::send_flags::none);
    } catch (const zmq::error_t&) {
    }
    thread_.join();
  }
}

void ZapHandler::Reload() {
  try {
    (void)commands_.send(zmq::str_buffer("reload"), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    log_.error("cannot ask the ZAP handler to reload {}: {}", keys_path_, e.what());
  }
}

void ZapHandler::Run() {
  zmq::pollitem_t items[] = {
      {zap_.handle(), 0, ZMQ_POLLIN, 0},
      {control_.handle(), 0, ZMQ_POLLIN, 0},
  };
  while (true) {
    try {
      zmq::poll(items, std::size(items), std::chrono::milliseconds(-1));
      if (items[1].revents & ZMQ_POLLIN) {
        zmq::message_t command;
        if (control_.recv(command, zmq::recv_flags::dontwait)) {
          if (command.to_string_view() == "stop") return;
          if (command.to_string_view() == "reload") ReloadKeys();
        }
      }
      if (items[0].revents & ZMQ_POLLIN) Answer();
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      // Without its handler no CURVE handshake completes: nobody gets in.
      log_.critical("ZAP handler stopped: {}; no tcp client can connect any more", e.what());
      return;
    }
  }
}

void ZapHandler::Answer() {
  // [version, request id, domain, address, routing id, mechanism, credentials...]
  std::vector<zmq::message_t> request;
  do {
    zmq::message_t part;
    if (!zap_.recv(part, zmq::recv_flags::dontwait)) break;
    request.push_back(std::move(part));
  } while (zap_.get(zmq::sockopt::rcvmore));

  std::string status = "400";
  std::string text = "unknown key";
  std::string user_id;
  std::string metadata;  // ZMTP property encoding
  const bool well_formed = request.size() >= 7 && request[0].to_string_view() == "1.0";
  const std::string address = request.size() > 3 ? request[3].to_string() : "?";
  if (!well_formed) {
    status = "500";
    text = "malformed ZAP request";
    log_.error("malformed ZAP request ({} frames) refused", request.size());
  } else if (request[5].to_string_view() != "CURVE") {
    text = "CURVE only";
    log_.warn("client at {} refused: it offered {} security, jobd takes CURVE only", address,
              request[5].to_string_view());
  } else {
    const std::string key = Z85(request[6]);
    if (auto it = clients_.find(key); it != clients_.end()) {
      status = "200";
      text = "OK";
      user_id = it->second.name;
      // Set even when empty: see kAccountProperty.
      metadata = EncodeMetadataProperty(
          kAccountProperty, it->second.account ? std::to_string(*it->second.account) : "");
      log_.info("CURVE client '{}' connected from {}", user_id, address);
    } else if (ShouldLogRefusal(key)) {
      log_.warn("CURVE client at {} refused: its public key {} is not in {}", address, key,
                keys_path_);
    }
  }
  // [version, request id, status code, status text, user id, metadata]
  const std::string request_id = request.size() > 1 ? request[1].to_string() : "";
  zap_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(status), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(text), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(user_id), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(metadata), zmq::send_flags::none);
}

void ZapHandler::ReloadKeys() {
  Result<std::vector<AuthorizedKey>> keys = LoadAuthorizedKeys(keys_path_);
  if (!keys.ok()) {
    log_.error("authorised keys not reloaded, the old list stays: {}", keys.status().message());
    return;
  }
  // NSS lookups, here on the handler's thread: the loop never waits for them.
  Result<KeyMapping> mapping =
      MapKeysToAccounts(std::move(*keys), keys_path_, UnknownAccount::kNoAccount);
  if (!mapping.ok()) {
    log_.error("authorised keys not reloaded, the old list stays: {}",
               mapping.status().message());
    return;
  }
  for (const std::string& warning : mapping->warnings) log_.warn("{}", warning);
  SetKeys(mapping->keys);
  log_.info("authorised keys reloaded from {}: {} key(s)", keys_path_, clients_.size());
}

void ZapHandler::SetKeys(const std::vector<MappedKey>& keys) {
  clients_.clear();
  for (const MappedKey& mapped : keys) {
    std::optional<uint32_t> uid;
    if (mapped.account) uid = mapped.account->uid;
    clients_[mapped.key.key] = Client{mapped.key.name, uid};
    log_.info("CURVE key '{}' ({}:{}): {}", mapped.key.name, keys_path_, mapped.key.line,
              DescribeAccount(mapped));
  }
  refused_logged_.clear();
}

bool ZapHandler::ShouldLogRefusal(const std::string& key) {
  const auto now = std::chrono::steady_clock::now();
  if (refused_logged_.size() >= kMaxRememberedRefusals) refused_logged_.clear();
  auto [it, fresh] = refused_logged_.emplace(key, now);
  if (fresh) return true;
  if (now - it->second < kRefusalLogInterval) return false;
  it->second = now;
  return true;
}

}  // namespace jobd
