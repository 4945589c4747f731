// WorkerLoop: a worker's side of the conversation with the coordinator
// (proto/PROTOCOL.md): Ready first, then hand the tasks it is sent to the
// task thread and report each outcome, with the worker's log records, as soon
// as it is known; heartbeat both ways (Paranoid Pirate, zguide chapter 4).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "proto/messages.h"
#include "worker/pending_logs.h"
#include "worker/task_registry.h"
#include "worker/task_runner.h"

namespace jobd {

class WorkerLoop {
 public:
  // Tasks this worker may hold at once: it runs them one after another, so
  // the next is already here when one ends. The coordinator sends fewer
  // when tasks are long (see Supervisor).
  static constexpr uint32_t kCredit = 64;
  // A command's process group is reported once the command has run this
  // long (up to twice as long), or with the next report, and not at all
  // when its outcome comes first: a short command then costs one report,
  // not two. (The coordinator needs the group only to stop a command; a
  // forget, from a cancel, sends the held starts at once.)
  static constexpr std::chrono::milliseconds kStartReportDelay{5};

  // Exit statuses of the worker process, returned by Run().
  static constexpr int kExitShutdown = 0;         // the coordinator said so
  static constexpr int kExitStartupError = 2;     // e.g. no eventfd for the task thread
  static constexpr int kExitProtocolError = 3;    // undecodable frame or wrong version
  static constexpr int kExitCoordinatorLost = 4;  // silent for interval x misses

  // `socket` is a connected DEALER used only by Run(). `logs` is where the
  // RecordSink of `logger` delivers. Everything borrowed must outlive the
  // WorkerLoop (the task thread uses `registry` and `logger` until then).
  // The worker sends something at least every `heartbeat_interval` and gives
  // up on a coordinator it has heard nothing from for
  // `heartbeat_interval * heartbeat_misses`. `load_errors` (the plugins that
  // could not be loaded, and why) go to the coordinator in Ready.
  WorkerLoop(zmq::socket_ref socket, const TaskRegistry& registry, uint32_t slot,
             spdlog::logger& logger, PendingLogs& logs,
             std::chrono::milliseconds heartbeat_interval, uint32_t heartbeat_misses,
             std::vector<std::string> load_errors = {});
  // Waits for a task in progress (see ~TaskRunner).
  ~WorkerLoop();
  WorkerLoop(const WorkerLoop&) = delete;
  WorkerLoop& operator=(const WorkerLoop&) = delete;

  // Runs the conversation on the calling thread, once, until ShutdownWorker
  // (kExitShutdown, after the tasks it holds are done and reported), a frame
  // it cannot trust (kExitProtocolError) or a silent coordinator
  // (kExitCoordinatorLost), after logging why. On the last two it returns
  // at once, even with a task still running on the task thread: a process
  // should then exit without destroying this loop. A crashing task ends the
  // process. zmq errors propagate as zmq::error_t.
  int Run();

 private:
  using Clock = std::chrono::steady_clock;

  // Reports outcomes and, when the task thread waits for it, sends the logs
  // and releases the next task body. False when a send gave up.
  bool HandleTaskEvents();
  // Reads what the coordinator sent; returns an exit status to stop with,
  // or -1 to go on.
  int HandleMessages(Clock::time_point now);
  int HandleMessage(const zmq::message_t& frame);
  // Sends a report of `outcomes` and `dropped`, the starts held back (but
  // those of commands that `outcomes` says ended), and every pending log
  // record.
  bool SendReport(std::vector<Outcome> outcomes, std::vector<DroppedTask> dropped = {});
  // When held-back starts are due, if any are held.
  std::optional<Clock::time_point> StartsDue() const;
  // Sends the pending log records alone, if there are any.
  bool FlushLogs();
  // Sends without blocking past the point where the coordinator counts as
  // lost; false when the frame could not be queued by then.
  bool Send(const FromWorker& message);
  Clock::time_point LivenessDeadline() const;

  // Constant after construction.
  zmq::socket_ref socket_;  // borrowed; never reseated
  const TaskRegistry& registry_;
  const uint32_t slot_;
  spdlog::logger& logger_;
  PendingLogs& logs_;
  const std::chrono::milliseconds heartbeat_interval_;
  const uint32_t heartbeat_misses_;
  const std::vector<std::string> load_errors_;

  // Run()'s thread only.
  Clock::time_point last_heard_{};  // anything from the coordinator
  Clock::time_point last_sent_{};   // anything to the coordinator
  bool stopping_ = false;           // ShutdownWorker came; exit once idle
  // Commands started and not reported yet (see kStartReportDelay), and
  // since when the oldest of them waits.
  std::vector<CommandStarted> unsent_starts_;
  Clock::time_point starts_held_since_{};
  std::unique_ptr<TaskRunner> runner_;  // made by Run(); joined by ~WorkerLoop
};

}  // namespace jobd
