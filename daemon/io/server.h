// The coordinator process: one event loop over the client socket, the
// worker socket and a signalfd, driving the Supervisor. Owns every socket,
// child process and the log writer.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "daemon/core/supervisor.h"
#include "daemon/io/journal_sink.h"
#include "daemon/io/log_writer.h"
#include "daemon/io/process_launcher.h"
#include "daemon/io/router_socket.h"
#include "daemon/io/service_notifier.h"
#include "daemon/io/signal_fd.h"
#include "daemon/io/zap_handler.h"
#include "daemon/store/store_writer.h"
#include "proto/codec.h"
#include "util/clock.h"

namespace jobd {

struct ServerConfig {
  std::string client_endpoint;
  // The durable store's file; empty: no store (every job is memory only).
  std::string store_path;
  // Finished jobs are removed from the store this long after they finished.
  Micros retain{std::chrono::hours(7 * 24)};
  std::string worker_binary;
  std::string plugin_dir;  // empty: no plugins
  uint64_t max_output = 1 << 20;  // workers' --max-output
  uint32_t workers = 1;
  LogLevel log_level = LogLevel::kInfo;
  // How long a drain may take before what still runs is killed.
  Millis drain_timeout{30'000};
  // How long to keep trying to hand final results to clients at exit.
  Millis stream_flush_timeout{2'000};
  // A client request larger than this gets an error (--max-message-size);
  // ZeroMQ drops one past TransportCeiling() of it, and its connection.
  size_t max_message_size = kDefaultMaxMessageBytes;
  // Each request on a connection made while this many clients were
  // connected gets an error (--max-clients).
  size_t max_clients = 1024;
  SupervisorOptions supervisor;
  // Access control (README, "Access control"). An ipc socket file gets this
  // mode and jobd's group.
  mode_t socket_mode = 0660;
  // Who may use every job besides its owner: root, jobd's user, the admin group.
  AccessOptions access;
  // A tcp:// endpoint takes CURVE clients only: jobd's key pair, and the
  // clients' keys (the file, for SIGHUP to read again).
  std::optional<CurveKeyPair> curve;
  std::vector<MappedKey> authorized_keys;  // and the account each runs as
  std::string authorized_keys_path;
};

// Hands the supervisor's store ops to the writer thread, numbering them, and
// turns the writer's commits back into "everything up to ticket T". Ops
// wait here until the loop's turn ends (Flush): one lock and one wake-up of
// the writer a turn rather than one an op.
class StoreLink final : public JobStore {
 public:
  void Attach(StoreWriter* writer) { writer_ = writer; }
  uint64_t Record(StoreOp op) override {
    pending_.push_back(std::move(op));
    return ++recorded_;
  }
  // A load is answered after every op queued before it: those too.
  void Load(JobId job) override {
    Flush();
    writer_->LoadJob(job);
  }
  void Flush() {
    if (writer_ == nullptr || pending_.empty()) return;
    writer_->Enqueue(std::move(pending_));
    pending_.clear();
  }
  // The ticket of the last op a commit of `ops` ops covered.
  uint64_t Committed(size_t ops) { return committed_ += ops; }

 private:
  StoreWriter* writer_ = nullptr;
  std::vector<StoreOp> pending_;
  uint64_t recorded_ = 0;   // loop thread only
  uint64_t committed_ = 0;  // loop thread only
};

class Server final : private SupervisorIo {
 public:
  // `log_writer` also receives the workers' records, and so does
  // `journal` when there is one.
  Server(ServerConfig config, LogWriter& log_writer, spdlog::logger& log,
         JournalWriter* journal = nullptr);
  ~Server() override;

  // Binds, starts the workers and serves until a signal says stop.
  // Returns the process exit code.
  int Run();

 private:
  Status Setup();
  Status OpenStore();
  void HandleStoreCommits();
  void HandleSignals();
  // What SIGHUP and a privileged reload request do: recycle the workers (so
  // that plugins load anew) and read the authorised keys again.
  void Reload(const std::string& why);
  void HandleWorkerMessages();
  void HandleClientMessages();
  void HandleClientRequest(const RoutedMessage& message);
  // Who sent `message`, from what its transport vouches for; none when it
  // says nothing (such a client is refused).
  std::optional<Caller> Identify(const RoutedMessage& message) const;
  // The reply to send now; none when the supervisor answers later.
  std::optional<Reply> Answer(const std::string& peer, const Caller& caller,
                              const Request& request);
  void WriteWorkerLogs(int32_t pid, std::vector<LogRecord> records);
  Millis PollTimeout(TimePoint now) const;
  bool ShouldExit(TimePoint now);

  // SupervisorIo
  Result<int32_t> SpawnWorker(uint32_t slot, uint32_t uid) override;
  void KillWorker(int32_t pid, uint32_t uid) override;
  void SignalGroup(int32_t pgid, int signal, uint32_t uid) override;
  bool SendToWorker(int32_t pid, const ToWorker& message) override;
  Delivery SendToClient(const ClientId& client, const Reply& reply) override;

  // Constant after construction.
  const ServerConfig config_;
  const AccessPolicy access_;
  const std::string worker_endpoint_;
  LogWriter& log_writer_;
  JournalWriter* const journal_;  // null: no native journal
  spdlog::logger& log_;
  SteadyClock clock_;

  // Declared in reverse teardown order: the context outlives its sockets.
  zmq::context_t context_;
  std::unique_ptr<ZapHandler> zap_;  // tcp:// only; outlives the client socket
  RouterSocket clients_;
  RouterSocket workers_;
  std::optional<SignalFd> signals_;
  ProcessLauncher launcher_;
  std::unique_ptr<StoreWriter> store_writer_;  // null without a store
  StoreLink store_link_;
  Supervisor supervisor_;
  ServiceNotifier notifier_;  // sd_notify: READY, STATUS, WATCHDOG, ...

  // Loop state.
  // Each worker's ZeroMQ routing id, learnt from its messages (HandleWorkerMessages).
  std::unordered_map<int32_t, std::string> worker_routes_;
  // Messages on the workers' socket from processes that are no worker of
  // ours, and when the next warning of them may be logged.
  uint64_t impostor_messages_ = 0;
  TimePoint next_impostor_warning_{};
  std::optional<TimePoint> drain_deadline_;
  std::optional<TimePoint> exit_deadline_;  // for flushing streams once workers are gone
  bool killed_ = false;
  bool announced_ready_ = false;  // READY=1 goes out once every worker is up
  bool force_exit_ = false;
};

}  // namespace jobd
