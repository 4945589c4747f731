#include "daemon/io/server.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "daemon/io/privilege.h"
#include "proto/codec.h"
#include "util/endpoints.h"
#include "util/log_context.h"
#include "util/resident_set.h"

namespace jobd {
namespace {

// Messages handled per socket per loop turn, so that one busy socket cannot
// starve the other or the signals.
constexpr int kMaxMessagesPerTurn = 256;
constexpr Millis kMaxPollTimeout{1000};

// A socket file that answers belongs to a live jobd: binding would steal it.
bool SomeoneListensOn(const std::string& path) {
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) return false;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, path.size());
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

ErrorReply ToError(const Status& status, ErrorCode code) { return ErrorReply{code, status.message()}; }

// A request about one job that failed: it is not there, or not the caller's.
ErrorReply JobError(const Status& status) {
  return ToError(status, status.code() == StatusCode::kPermissionDenied
                             ? ErrorCode::kPermissionDenied
                             : ErrorCode::kUnknownJob);
}

}  // namespace

Server::Server(ServerConfig config, LogWriter& log_writer, spdlog::logger& log,
               JournalWriter* journal)
    : config_(std::move(config)),
      access_(config_.access),
      worker_endpoint_(fmt::format("ipc://@jobd-{}-workers", getpid())),
      log_writer_(log_writer),
      journal_(journal),
      log_(log),
      context_(1),
      clients_(context_, Millis(1000)),
      workers_(context_, Millis(0)),
      launcher_(LaunchOptions{config_.worker_binary, worker_endpoint_,
                              std::string(LogLevelName(config_.log_level)),
                              config_.supervisor.heartbeat_interval.count(),
                              config_.supervisor.heartbeat_misses, config_.plugin_dir,
                              config_.max_output, config_.supervisor.allow_commands}),
      supervisor_(config_.supervisor, *this, clock_, log_,
                  config_.store_path.empty() ? nullptr : &store_link_),
      notifier_(clock_, std::make_unique<SdNotifySender>(),
                ServiceNotifierOptions::FromEnvironment()) {}

Server::~Server() {
  // No path may leave a live worker behind.
  if (!supervisor_.AllWorkersGone()) {
    supervisor_.KillAll();
    launcher_.ReapAllBlocking();
  }
  store_link_.Flush();  // the writer, destroyed next, commits what is queued
}

Status Server::OpenStore() {
  if (config_.store_path.empty()) {
    log_.info("no store: jobs live in memory only");
    return Status::Ok();
  }
  std::error_code ec;
  const std::filesystem::path state_dir = std::filesystem::path(config_.store_path).parent_path();
  std::filesystem::create_directories(state_dir.parent_path(), ec);
  if (ec) return Status::Failed("create state directory for " + config_.store_path + ": " + ec.message());
  // The store holds every user's jobs, arguments and results: jobd's alone,
  // whatever the umask (a directory that already exists is left as it is).
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return SysError("create state directory", state_dir.string(), errno);
  }
  Result<std::unique_ptr<Store>> store = Store::Open(config_.store_path);
  if (!store.ok()) return store.status();
  // SQLite gives its -wal and -shm files the mode the file had when it made them.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string path = config_.store_path + suffix;
    if (::chmod(path.c_str(), 0600) != 0 && !(errno == ENOENT && *suffix != '\0')) {
      return SysError("chmod 0600", path, errno);
    }
  }
  // Recovery reads the whole store before the loop starts: nothing to serve
  // yet. Jobs past their retention go first, so they are not restored.
  if (config_.retain.count() > 0) {
    Result<size_t> removed = (*store)->DeleteFinishedBefore(UnixMicrosNow() - config_.retain.count());
    if (!removed.ok()) return removed.status();
    if (*removed > 0) log_.info("store: removed {} finished job(s) past the retention period", *removed);
  }
  Result<std::vector<StoredJob>> jobs = (*store)->LoadJobs(config_.supervisor.retained_finished_jobs);
  if (!jobs.ok()) return jobs.status();
  Result<JobId> last_id = (*store)->MaxJobId();
  if (!last_id.ok()) return last_id.status();
  supervisor_.Restore(*jobs, *last_id);
  StoreWriter::Options options;
  options.retain = config_.retain;
  Result<std::unique_ptr<StoreWriter>> writer = StoreWriter::Start(std::move(*store), options);
  if (!writer.ok()) return writer.status();
  store_writer_ = std::move(*writer);
  store_link_.Attach(store_writer_.get());
  log_.info("store: {}", config_.store_path);
  return Status::Ok();
}

void Server::HandleStoreCommits() {
  for (StoreWriter::Commit& commit : store_writer_->TakeCommits()) {
    if (commit.removed_jobs > 0) {
      log_.info("store: removed {} finished job(s) past the retention period", commit.removed_jobs);
    }
    if (commit.loaded) {
      supervisor_.OnJobLoaded(commit.loaded->job, std::move(commit.loaded->stored), commit.status);
      continue;
    }
    if (!commit.status.ok() && commit.ops == 0) {
      log_.error("store: clean-up failed: {}", commit.status.message());
    }
    if (commit.ops == 0) continue;
    supervisor_.OnStoreCommit(store_link_.Committed(commit.ops), commit.status);
  }
}

Status Server::Setup() {
  Status store = OpenStore();
  if (!store.ok()) return store;
  auto signals = SignalFd::Open(CoordinatorSignals());
  if (!signals.ok()) return signals.status();
  signals_.emplace(std::move(*signals));

  const std::string socket_path = IpcPath(config_.client_endpoint);
  if (!socket_path.empty()) {
    if (SomeoneListensOn(socket_path)) {
      return Status::Failed("another jobd is already listening on " + config_.client_endpoint);
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(socket_path).parent_path(), ec);
    if (ec) return Status::Failed("create socket directory for " + socket_path + ": " + ec.message());
  }
  // A request over --max-message-size gets an error (HandleClientRequest);
  // ZeroMQ drops one far over it unread.
  clients_.SetMaxMessageSize(TransportCeiling(config_.max_message_size));
  Status limited = clients_.LimitConnections(config_.max_clients, [this](size_t open) {
    log_.warn("client connection over the limit of {} clients (--max-clients; {} open): its "
              "requests get an error",
              config_.max_clients, open);
  });
  if (!limited.ok()) return limited;
  // Every request is tied to who sent it (Identify).
  clients_.ReadPeerMetadata(true);
  if (config_.curve) {
    // The ZAP handler first: a CURVE socket without one lets every key in.
    Result<std::unique_ptr<ZapHandler>> zap = ZapHandler::Start(
        context_, config_.authorized_keys, config_.authorized_keys_path, log_);
    if (!zap.ok()) return zap.status();
    zap_ = std::move(*zap);
    Status curve = clients_.EnableCurveServer(config_.curve->secret_key);
    if (!curve.ok()) return curve;
    log_.info("CURVE: jobd's public key is {}; {} authorised client key(s) in {}",
              config_.curve->public_key, config_.authorized_keys.size(),
              config_.authorized_keys_path);
  } else if (IsTcpEndpoint(config_.client_endpoint)) {
    return Status::InvalidArgument("refusing plain-text TCP on " + config_.client_endpoint +
                                   ": tcp:// needs CURVE keys");
  }
  Status bound = clients_.BindWithMode(config_.client_endpoint, config_.socket_mode);
  if (!bound.ok()) return bound;
  if (!socket_path.empty()) {
    log_.info("socket {}: mode {:04o}, group {}", socket_path, config_.socket_mode, getegid());
  }
  // Workers talk on an abstract socket. Without per-user workers only our
  // own uid may reach it; with them, any uid may connect, but only what
  // HandleWorkerMessages knows for a worker of ours is heard.
  workers_.SetMaxMessageSize(TransportCeiling(kMaxFrameBytes));
  workers_.ReadPeerMetadata(true);
  // A connection never takes over another's routing id: each worker's is
  // ZeroMQ's own choice, learnt from its first message.
  workers_.AllowHandover(false);
  if (!config_.supervisor.per_user_workers) {
    Status restricted = workers_.RestrictToUid(getuid());
    if (!restricted.ok()) return restricted;
  }
  return workers_.Bind(worker_endpoint_);
}

int Server::Run() {
  Status setup = Setup();
  if (!setup.ok()) {
    log_.critical("cannot start: {}", setup.message());
    return 1;
  }
  supervisor_.Start();
  log_.info("jobd listening on {} with {} workers", config_.client_endpoint, config_.workers);

  // A negative fd is ignored by poll(2): without a store, item 3 is inert.
  zmq::pollitem_t items[] = {
      {nullptr, signals_->fd(), ZMQ_POLLIN, 0},
      {workers_.socket().handle(), 0, ZMQ_POLLIN, 0},
      {clients_.socket().handle(), 0, ZMQ_POLLIN, 0},
      {nullptr, store_writer_ ? store_writer_->fd() : -1, ZMQ_POLLIN, 0},
      {clients_.monitor().handle(), -1, ZMQ_POLLIN, 0},  // connections come and go
  };
  TimePoint now = clock_.Now();
  while (!ShouldExit(now)) {
    store_link_.Flush();  // what this turn recorded, before the loop waits
    try {
      zmq::poll(items, std::size(items), PollTimeout(now));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) {
        log_.critical("poll failed: {}", e.what());
        return 1;
      }
    }
    now = clock_.Now();
    // Worker messages before signals: a result sent just before its worker
    // exited is counted before the exit is.
    if (items[1].revents & ZMQ_POLLIN) HandleWorkerMessages();
    if (items[0].revents & ZMQ_POLLIN) HandleSignals();
    if (items[4].revents & ZMQ_POLLIN) clients_.ReadMonitor();
    if (items[2].revents & ZMQ_POLLIN) HandleClientMessages();
    if (items[3].revents & ZMQ_POLLIN) HandleStoreCommits();
    supervisor_.OnTick();
    supervisor_.Flush();
    if (!announced_ready_ && supervisor_.AllWorkersReady()) {
      announced_ready_ = true;
      log_.info("all {} workers ready", config_.workers);
      notifier_.Ready();
    }
    // The watchdog keep-alive comes from here: a stuck loop stops it.
    const PongReply counts = supervisor_.Pong();
    notifier_.OnTick(ServiceCounts{counts.workers, config_.workers, counts.queued, counts.running,
                                   supervisor_.draining()});
  }
  store_link_.Flush();
  if (force_exit_) {
    supervisor_.KillAll();
    launcher_.ReapAllBlocking();
    log_.warn("stopped at once on a second signal; running tasks were killed");
    return 1;
  }
  log_.info("jobd stopped");
  return 0;
}

bool Server::ShouldExit(TimePoint now) {
  if (force_exit_) return true;
  if (!supervisor_.draining()) return false;
  if (drain_deadline_ && now >= *drain_deadline_ && !killed_) {
    log_.warn("drain took longer than {} ms: killing what still runs", config_.drain_timeout.count());
    supervisor_.KillAll();
    killed_ = true;
  }
  if (!supervisor_.AllWorkersGone()) return false;
  if (!exit_deadline_) exit_deadline_ = now + config_.stream_flush_timeout;
  if (supervisor_.HasPendingStreams() && now < *exit_deadline_) return false;
  return true;
}

Millis Server::PollTimeout(TimePoint now) const {
  std::optional<TimePoint> next = supervisor_.NextDeadline();
  for (const auto& deadline : {drain_deadline_, exit_deadline_, notifier_.NextDeadline()}) {
    if (deadline && (!next || *deadline < *next)) next = deadline;
  }
  if (!next) return kMaxPollTimeout;
  if (*next <= now) return Millis(0);
  const auto wait = std::chrono::duration_cast<Millis>(*next - now) + Millis(1);
  return std::min(wait, kMaxPollTimeout);
}

void Server::HandleSignals() {
  while (std::optional<int> sig = signals_->Read()) {
    switch (*sig) {
      case SIGCHLD:
        for (const auto& [pid, status] : launcher_.ReapExited()) {
          worker_routes_.erase(pid);
          supervisor_.OnWorkerExited(pid, status);
        }
        break;
      case SIGTERM:
      case SIGINT:
        if (supervisor_.draining()) {
          log_.warn("second {}: stopping now", sigabbrev_np(*sig));
          force_exit_ = true;
          break;
        }
        log_.info("SIG{} received: draining (send it again to stop at once)", sigabbrev_np(*sig));
        notifier_.Stopping();
        supervisor_.BeginDrain();
        drain_deadline_ = clock_.Now() + config_.drain_timeout;
        break;
      case SIGHUP:
        Reload("SIGHUP received");
        break;
      default:
        break;
    }
  }
}

void Server::Reload(const std::string& why) {
  log_.info("{}: recycling the workers to reload plugins", why);
  notifier_.Reloading();
  supervisor_.RecycleWorkers();
  if (zap_) zap_->Reload();  // the authorised keys, read on the ZAP thread
  notifier_.Ready();
}

void Server::HandleWorkerMessages() {
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    std::optional<RoutedMessage> message = workers_.TryReceive();
    if (!message) return;
    // A worker is known by the kernel's word on who connected (SO_PEERCRED),
    // never by what it says: the pid must be one we started, running as the
    // uid we started it as. So no other process, not even a task of the same
    // user, can pass for a worker and get tasks.
    const std::optional<PeerCredentials> peer = ParsePeerAddress(message->peer_address);
    const std::optional<int32_t> pid =
        peer ? std::optional<int32_t>(peer->pid) : std::optional<int32_t>();
    if (!pid || !supervisor_.IsWorker(*pid) || supervisor_.UidOf(*pid) != peer->uid) {
      // Any local process may connect: a line a second at most, so that
      // one cannot fill the log.
      const TimePoint now = clock_.Now();
      if (now >= next_impostor_warning_) {
        log_.warn("message from a process that is not one of our workers ignored ({}){}",
                  message->peer_address.empty() ? "no credentials" : message->peer_address,
                  impostor_messages_ == 0
                      ? ""
                      : fmt::format("; {} more such message(s) ignored since the last warning",
                                    impostor_messages_));
        impostor_messages_ = 0;
        next_impostor_warning_ = now + std::chrono::seconds(1);
      } else {
        ++impostor_messages_;
      }
      continue;
    }
    // What we send it goes to the connection it speaks on.
    worker_routes_[*pid] = message->peer;
    Result<FromWorker> decoded = DecodeFromWorker(message->payload);
    if (!decoded.ok()) {
      log_.error("worker pid {} sent a bad message ({}); killing it", *pid,
                 decoded.status().message());
      launcher_.KillWorker(peer->uid, *pid);
      continue;
    }
    if (decoded->version != kProtocolVersion) {
      log_.error("worker pid {} speaks protocol version {}, jobd speaks {}: is jobd-worker from "
                 "another jobd version? killing it",
                 *pid, decoded->version, kProtocolVersion);
      launcher_.KillWorker(peer->uid, *pid);
      continue;
    }
    if (auto* report = std::get_if<WorkerReport>(&decoded->body)) {
      WriteWorkerLogs(*pid, std::move(report->logs));
      report->logs.clear();
    }
    supervisor_.OnWorkerMessage(*pid, *decoded);
  }
}

void Server::WriteWorkerLogs(int32_t pid, std::vector<LogRecord> records) {
  const std::optional<uint32_t> slot = supervisor_.SlotOf(pid);
  const std::optional<uint32_t> uid = supervisor_.UidOf(pid);
  for (LogRecord& record : records) {
    // The pid is the sender's as we know it, not what the record claims.
    record.pid = pid;
    record.role = LogRole::kWorker;
    record.worker = slot;
    record.uid = uid;
    log_writer_.Write(FormatJsonLine(record));
    if (journal_ != nullptr) journal_->Write(std::move(record));
  }
}

void Server::HandleClientMessages() {
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    std::optional<RoutedMessage> message = clients_.TryReceive();
    if (!message) return;
    HandleClientRequest(*message);
  }
}

void Server::HandleClientRequest(const RoutedMessage& message) {
  Reply reply;
  if (message.payload.size() > config_.max_message_size) {
    log_.warn("client request of {} bytes refused: over the limit of {} (--max-message-size)",
              message.payload.size(), config_.max_message_size);
    reply.body = ErrorReply{
        ErrorCode::kBadRequest,
        fmt::format("request of {} bytes is over jobd's limit of {} bytes (--max-message-size); "
                    "split the job into smaller ones",
                    message.payload.size(), config_.max_message_size)};
  } else if (message.frames != 1) {
    log_.warn("client sent a message of {} frames; expected 1", message.frames);
    reply.body = ErrorReply{ErrorCode::kBadRequest,
                            fmt::format("expected a message of 1 frame, got {}", message.frames)};
  } else if (Result<Request> request = DecodeRequest(message.payload); !request.ok()) {
    log_.warn("bad client request: {}", request.status().message());
    reply.body = ErrorReply{ErrorCode::kBadRequest, request.status().message()};
  } else if (message.over_limit) {
    // Logged once, when the connection came (LimitConnections).
    reply.request_id = request->request_id;
    reply.body = ErrorReply{
        ErrorCode::kQueueFull,
        fmt::format("too many clients: jobd serves at most {} connections at once "
                    "(--max-clients); try again later",
                    config_.max_clients)};
  } else if (request->version != kProtocolVersion) {
    log_.warn("client speaks protocol version {}; jobd speaks {}", request->version,
              kProtocolVersion);
    reply.request_id = request->request_id;
    reply.body = ErrorReply{
        ErrorCode::kVersionMismatch,
        fmt::format("protocol version mismatch: the client speaks version {}, jobd speaks {}; use "
                    "a jobctl from the same jobd release",
                    request->version, kProtocolVersion)};
  } else if (const auto* ack = std::get_if<AckRequest>(&request->body)) {
    // Acks keep a stream flowing; answering each would double the traffic.
    supervisor_.Ack(message.peer, request->request_id, ack->consumed);
    return;
  } else if (std::optional<Caller> caller = Identify(message); !caller) {
    log_.warn("request refused: jobd cannot tell who sent it (peer address '{}')",
              message.peer_address);
    reply.request_id = request->request_id;
    reply.body = ErrorReply{ErrorCode::kPermissionDenied,
                            "permission denied: jobd cannot tell who sent this request"};
  } else {
    std::optional<Reply> answer = Answer(message.peer, *caller, *request);
    if (!answer) return;
    reply = std::move(*answer);
  }
  if (SendToClient(message.peer, reply) != Delivery::kSent) {
    log_.debug("could not answer a client that is gone or not reading");
  }
}

std::optional<Caller> Server::Identify(const RoutedMessage& message) const {
  // tcp: only CURVE clients get in, named by the ZAP handler after their key.
  if (config_.curve) {
    if (message.user_id.empty()) return std::nullopt;
    return AccessPolicy::KeyCaller(message.user_id, message.account);
  }
  // ipc: the kernel's word (SO_PEERCRED) on the connecting process.
  if (std::optional<PeerCredentials> peer = ParsePeerAddress(message.peer_address)) {
    return access_.LocalCaller(*peer);
  }
  // inproc: only code inside jobd can connect.
  if (config_.client_endpoint.rfind("inproc://", 0) == 0) return Caller::Internal();
  return std::nullopt;
}

std::optional<Reply> Server::Answer(const std::string& peer, const Caller& caller,
                                    const Request& request) {
  Reply reply;
  reply.request_id = request.request_id;
  bool answered_later = false;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, PingRequest>) {
          PongReply pong = supervisor_.Pong();
          pong.pid = getpid();
          pong.max_message_size = config_.max_message_size;
          reply.body = pong;
        } else if constexpr (std::is_same_v<T, SubmitRequest>) {
          Result<std::optional<JobInfo>> accepted =
              supervisor_.Submit(peer, request.request_id, body, caller);
          if (accepted.ok() && !accepted->has_value()) {
            answered_later = true;  // once the store has committed the job
          } else if (accepted.ok()) {
            reply.body = AcceptedReply{**accepted};
          } else {
            const StatusCode status = accepted.status().code();
            const ErrorCode code = status == StatusCode::kInvalidArgument ? ErrorCode::kBadRequest
                                   : status == StatusCode::kPermissionDenied
                                       ? ErrorCode::kPermissionDenied
                                   : supervisor_.draining() ? ErrorCode::kShuttingDown
                                                            : ErrorCode::kQueueFull;
            reply.body = ToError(accepted.status(), code);
          }
        } else if constexpr (std::is_same_v<T, WatchRequest>) {
          Result<JobInfo> watched = supervisor_.Watch(peer, request.request_id, body, caller);
          if (watched.ok()) {
            reply.body = AcceptedReply{*watched};
          } else if (supervisor_.LookUp(peer, request.request_id, request.body, caller)) {
            answered_later = true;  // once the store has read the job back
          } else {
            reply.body = JobError(watched.status());
          }
        } else if constexpr (std::is_same_v<T, StatusRequest>) {
          Result<JobInfo> status = supervisor_.Status(body.job, caller);
          if (status.ok()) {
            reply.body = StatusReply{{*status}};
          } else if (supervisor_.LookUp(peer, request.request_id, request.body, caller)) {
            answered_later = true;
          } else {
            reply.body = JobError(status.status());
          }
        } else if constexpr (std::is_same_v<T, JobsRequest>) {
          reply.body = StatusReply{supervisor_.Jobs(caller)};
        } else if constexpr (std::is_same_v<T, WorkersRequest>) {
          std::vector<WorkerInfo> workers = supervisor_.Workers(caller);
          for (WorkerInfo& w : workers) {
            // Now, if /proc shows it: another user's process is hidden
            // under the unit's ProtectProc=invisible; then what it last
            // reported.
            if (const uint64_t now = w.pid != 0 ? ResidentBytes(w.pid) : 0; now != 0) {
              w.rss_bytes = now;
            }
          }
          reply.body = WorkersReply{std::move(workers)};
        } else if constexpr (std::is_same_v<T, LogsRequest>) {
          reply.body = LogsReply{log_writer_.path()};
        } else if constexpr (std::is_same_v<T, TasksRequest>) {
          reply.body = supervisor_.Tasks();
        } else if constexpr (std::is_same_v<T, ReloadRequest>) {
          // Whoever may see every job may do what SIGHUP does.
          if (!caller.privileged) {
            reply.body = ErrorReply{ErrorCode::kPermissionDenied,
                                    "permission denied: only root, jobd's own user and the "
                                    "admin group may reload jobd"};
          } else {
            Reload("reload requested by " + Describe(caller.id));
            PongReply pong = supervisor_.Pong();
            pong.pid = getpid();
            pong.max_message_size = config_.max_message_size;
            reply.body = pong;
          }
        } else if constexpr (std::is_same_v<T, AckRequest>) {
          // Handled before: acks get no reply.
        } else if constexpr (std::is_same_v<T, CancelRequest>) {
          Result<CancelReply> cancelled = supervisor_.Cancel(body.job, caller);
          if (cancelled.ok()) {
            reply.body = *cancelled;
          } else {
            reply.body = JobError(cancelled.status());
          }
        }
      },
      request.body);
  if (answered_later) return std::nullopt;
  return reply;
}

// ---- SupervisorIo -----------------------------------------------------------

Result<int32_t> Server::SpawnWorker(uint32_t slot, uint32_t uid) {
  // A worker of jobd's own user needs no --user (and an unprivileged jobd
  // could not honour one).
  if (uid == geteuid()) return launcher_.Spawn(slot, std::nullopt);
  return launcher_.Spawn(slot, uid);
}

void Server::KillWorker(int32_t pid, uint32_t uid) {
  // Also one still starting, not yet its user (a slot freed for another).
  if (const int error = launcher_.KillWorker(uid, pid); error != 0 && error != ESRCH) {
    log_.warn("cannot kill worker pid {} (uid {}): {}", pid, uid, std::strerror(error));
  }
}

void Server::SignalGroup(int32_t pgid, int signal, uint32_t uid) {
  // The supervisor checks pgid too; this is the last line before kill(2),
  // where 0 or -1 would reach our own group or every process we may signal.
  if (pgid <= 1 || pgid == getpgrp()) return;
  // With the worker's user's rights only: a worker that names another
  // user's group gets EPERM, not that group signalled.
  if (const int error = SignalAs(uid, -pgid, signal); error != 0 && error != ESRCH) {
    log_.warn("cannot signal process group {} as uid {}: {}", pgid, uid, std::strerror(error));
  }
}

bool Server::SendToWorker(int32_t pid, const ToWorker& message) {
  auto route = worker_routes_.find(pid);
  if (route == worker_routes_.end()) return false;  // it has not spoken yet
  return workers_.Send(route->second, EncodeToWorker(message)) == Delivery::kSent;
}

Delivery Server::SendToClient(const ClientId& client, const Reply& reply) {
  return clients_.Send(client, EncodeReply(reply));
}

}  // namespace jobd
