// WorkerLoop: a worker's side of the conversation with the coordinator
// (proto/PROTOCOL.md): Ready first, then run the tasks it is sent and report
// each outcome, with the worker's log records, as soon as it is known.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "proto/messages.h"
#include "worker/pending_logs.h"
#include "worker/task_registry.h"

namespace jobd {

class WorkerLoop {
 public:
  // Exit statuses of the worker process, returned by Run().
  static constexpr int kExitShutdown = 0;       // the coordinator said so
  static constexpr int kExitProtocolError = 3;  // undecodable frame or wrong version

  // `socket` is a connected DEALER used only by Run(). `logs` is where the
  // RecordSink of `logger` delivers. Everything borrowed must outlive Run().
  WorkerLoop(zmq::socket_ref socket, const TaskRegistry& registry, uint32_t slot,
             spdlog::logger& logger, PendingLogs& logs,
             std::chrono::milliseconds poll_timeout = std::chrono::seconds(1));
  WorkerLoop(const WorkerLoop&) = delete;
  WorkerLoop& operator=(const WorkerLoop&) = delete;

  // Runs the conversation on the calling thread until ShutdownWorker
  // (kExitShutdown) or a frame it cannot trust (kExitProtocolError, after
  // logging why). Tasks run on this thread, so a crashing task ends the
  // process. zmq errors propagate as zmq::error_t.
  int Run();

 private:
  // Runs the tasks in order, sending each outcome as soon as it is known.
  void RunTasksInOrder(const std::vector<Assignment>& tasks);
  Outcome RunOne(const Assignment& task);
  // Sends a report of `outcomes` plus every pending log record.
  void SendReport(std::vector<Outcome> outcomes);
  // Sends the pending log records alone, if there are any.
  void FlushLogs();
  void Send(const FromWorker& message);

  // Constant after construction.
  zmq::socket_ref socket_;  // borrowed; never reseated
  const TaskRegistry& registry_;
  const uint32_t slot_;
  spdlog::logger& logger_;
  PendingLogs& logs_;
  const std::chrono::milliseconds poll_timeout_;
};

}  // namespace jobd
