#include "daemon/io/server.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

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

std::optional<int32_t> ParsePid(const std::string& text) {
  int32_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) return std::nullopt;
  return pid;
}

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

}  // namespace

Server::Server(ServerConfig config, LogWriter& log_writer, spdlog::logger& log)
    : config_(std::move(config)),
      worker_endpoint_(fmt::format("ipc://@jobd-{}-workers", getpid())),
      log_writer_(log_writer),
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
                  config_.store_path.empty() ? nullptr : &store_link_) {}

Server::~Server() {
  // No path may leave a live worker behind.
  if (!supervisor_.AllWorkersGone()) {
    supervisor_.KillAll();
    launcher_.ReapAllBlocking();
  }
}

Status Server::OpenStore() {
  if (config_.store_path.empty()) {
    log_.info("no store: jobs live in memory only");
    return Status::Ok();
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(config_.store_path).parent_path(), ec);
  if (ec) return Status::Failed("create state directory for " + config_.store_path + ": " + ec.message());
  Result<std::unique_ptr<Store>> store = Store::Open(config_.store_path);
  if (!store.ok()) return store.status();
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
  clients_.SetMaxMessageSize(static_cast<int64_t>(kMaxFrameBytes));
  Status bound = clients_.Bind(config_.client_endpoint);
  if (!bound.ok()) return bound;
  // Workers talk on an abstract socket that only our own uid may reach.
  Status restricted = workers_.RestrictToUid(getuid());
  if (!restricted.ok()) return restricted;
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
  };
  TimePoint now = clock_.Now();
  while (!ShouldExit(now)) {
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
    if (items[2].revents & ZMQ_POLLIN) HandleClientMessages();
    if (items[3].revents & ZMQ_POLLIN) HandleStoreCommits();
    supervisor_.OnTick();
    supervisor_.Flush();
    if (!announced_ready_ && supervisor_.Pong().workers == config_.workers) {
      announced_ready_ = true;
      log_.info("all {} workers ready", config_.workers);
      sd_notify(0, "READY=1");
    }
  }
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
  for (const auto& deadline : {drain_deadline_, exit_deadline_}) {
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
        sd_notify(0, "STOPPING=1");
        supervisor_.BeginDrain();
        drain_deadline_ = clock_.Now() + config_.drain_timeout;
        break;
      case SIGHUP:
        log_.info("SIGHUP received: recycling the workers to reload plugins");
        sd_notify(0, "RELOADING=1");
        supervisor_.RecycleWorkers();
        sd_notify(0, "READY=1");
        break;
      default:
        break;
    }
  }
}

void Server::HandleWorkerMessages() {
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    std::optional<RoutedMessage> message = workers_.TryReceive();
    if (!message) return;
    const std::optional<int32_t> pid = ParsePid(message->peer);
    if (!pid || !supervisor_.IsWorker(*pid)) {
      log_.warn("message from a process that is not one of our workers ignored");
      continue;
    }
    Result<FromWorker> decoded = DecodeFromWorker(message->payload);
    if (!decoded.ok()) {
      log_.error("worker pid {} sent a bad message ({}); killing it", *pid,
                 decoded.status().message());
      launcher_.Kill(*pid);
      continue;
    }
    if (decoded->version != kProtocolVersion) {
      log_.error("worker pid {} speaks protocol version {}, jobd speaks {}: is jobd-worker from "
                 "another jobd version? killing it",
                 *pid, decoded->version, kProtocolVersion);
      launcher_.Kill(*pid);
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
  for (LogRecord& record : records) {
    // The pid is the sender's as we know it, not what the record claims.
    record.pid = pid;
    record.role = LogRole::kWorker;
    record.worker = slot;
    log_writer_.Write(FormatJsonLine(record));
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
  if (message.frames != 1) {
    log_.warn("client sent a message of {} frames; expected 1", message.frames);
    reply.body = ErrorReply{ErrorCode::kBadRequest,
                            fmt::format("expected a message of 1 frame, got {}", message.frames)};
  } else if (Result<Request> request = DecodeRequest(message.payload); !request.ok()) {
    log_.warn("bad client request: {}", request.status().message());
    reply.body = ErrorReply{ErrorCode::kBadRequest, request.status().message()};
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
  } else {
    std::optional<Reply> answer = Answer(message.peer, *request);
    if (!answer) return;
    reply = std::move(*answer);
  }
  if (SendToClient(message.peer, reply) != Delivery::kSent) {
    log_.debug("could not answer a client that is gone or not reading");
  }
}

std::optional<Reply> Server::Answer(const std::string& peer, const Request& request) {
  Reply reply;
  reply.request_id = request.request_id;
  bool answered_later = false;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, PingRequest>) {
          PongReply pong = supervisor_.Pong();
          pong.pid = getpid();
          reply.body = pong;
        } else if constexpr (std::is_same_v<T, SubmitRequest>) {
          Result<std::optional<JobInfo>> accepted =
              supervisor_.Submit(peer, request.request_id, body);
          if (accepted.ok() && !accepted->has_value()) {
            answered_later = true;  // once the store has committed the job
          } else if (accepted.ok()) {
            reply.body = AcceptedReply{**accepted};
          } else {
            const ErrorCode code =
                accepted.status().code() == StatusCode::kInvalidArgument ? ErrorCode::kBadRequest
                : supervisor_.draining() ? ErrorCode::kShuttingDown
                                         : ErrorCode::kQueueFull;
            reply.body = ToError(accepted.status(), code);
          }
        } else if constexpr (std::is_same_v<T, WatchRequest>) {
          Result<JobInfo> watched = supervisor_.Watch(peer, request.request_id, body);
          if (watched.ok()) {
            reply.body = AcceptedReply{*watched};
          } else if (supervisor_.LookUp(peer, request.request_id, request.body)) {
            answered_later = true;  // once the store has read the job back
          } else {
            reply.body = ToError(watched.status(), ErrorCode::kUnknownJob);
          }
        } else if constexpr (std::is_same_v<T, StatusRequest>) {
          Result<JobInfo> status = supervisor_.Status(body.job);
          if (status.ok()) {
            reply.body = StatusReply{{*status}};
          } else if (supervisor_.LookUp(peer, request.request_id, request.body)) {
            answered_later = true;
          } else {
            reply.body = ToError(status.status(), ErrorCode::kUnknownJob);
          }
        } else if constexpr (std::is_same_v<T, JobsRequest>) {
          reply.body = StatusReply{supervisor_.Jobs()};
        } else if constexpr (std::is_same_v<T, WorkersRequest>) {
          std::vector<WorkerInfo> workers = supervisor_.Workers();
          for (WorkerInfo& w : workers) {
            if (w.pid != 0) w.rss_bytes = ResidentBytes(w.pid);
          }
          reply.body = WorkersReply{std::move(workers)};
        } else if constexpr (std::is_same_v<T, LogsRequest>) {
          reply.body = LogsReply{log_writer_.path()};
        } else if constexpr (std::is_same_v<T, TasksRequest>) {
          reply.body = supervisor_.Tasks();
        } else if constexpr (std::is_same_v<T, AckRequest>) {
          // Handled before: acks get no reply.
        } else if constexpr (std::is_same_v<T, CancelRequest>) {
          Result<CancelReply> cancelled = supervisor_.Cancel(body.job);
          if (cancelled.ok()) {
            reply.body = *cancelled;
          } else {
            reply.body = ToError(cancelled.status(), ErrorCode::kUnknownJob);
          }
        }
      },
      request.body);
  if (answered_later) return std::nullopt;
  return reply;
}

// ---- SupervisorIo -----------------------------------------------------------

Result<int32_t> Server::SpawnWorker(uint32_t slot) { return launcher_.Spawn(slot); }

void Server::KillWorker(int32_t pid) { launcher_.Kill(pid); }

void Server::SignalGroup(int32_t pgid, int signal) {
  // The supervisor checks pgid too; this is the last line before kill(2),
  // where 0 or -1 would reach our own group or every process we may signal.
  if (pgid <= 1 || pgid == getpgrp()) return;
  if (kill(-pgid, signal) != 0 && errno != ESRCH) {
    log_.warn("cannot signal process group {}: {}", pgid, std::strerror(errno));
  }
}

bool Server::SendToWorker(int32_t pid, const ToWorker& message) {
  return workers_.Send(std::to_string(pid), EncodeToWorker(message)) == Delivery::kSent;
}

Delivery Server::SendToClient(const ClientId& client, const Reply& reply) {
  return clients_.Send(client, EncodeReply(reply));
}

}  // namespace jobd
