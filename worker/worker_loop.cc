#include "worker/worker_loop.h"

#include <unistd.h>

#include <string>
#include <utility>
#include <variant>

#include "proto/codec.h"
#include "util/log_context.h"

namespace jobd {

WorkerLoop::WorkerLoop(zmq::socket_ref socket, const TaskRegistry& registry,
                       uint32_t slot, spdlog::logger& logger, PendingLogs& logs,
                       std::chrono::milliseconds poll_timeout)
    : socket_(socket),
      registry_(registry),
      slot_(slot),
      logger_(logger),
      logs_(logs),
      poll_timeout_(poll_timeout) {}

int WorkerLoop::Run() {
  // TODO(protocol): raise the credit once the coordinator pipelines tasks.
  Send(FromWorker{kProtocolVersion,
                  WorkerReady{static_cast<int32_t>(getpid()), slot_, /*credit=*/1}});
  logger_.info("worker ready");
  FlushLogs();

  while (true) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, poll_timeout_);
    if ((item.revents & ZMQ_POLLIN) == 0) {
      // TODO(heartbeat): send heartbeats and give up on a silent coordinator
      // here; until then PR_SET_PDEATHSIG is what ends an orphaned worker.
      FlushLogs();
      continue;
    }
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) continue;

    // A mismatch between our own binaries cannot be repaired by talking on.
    if (frame.more()) {
      logger_.error("protocol error: unexpected multi-frame message from the coordinator");
      FlushLogs();
      return kExitProtocolError;
    }
    Result<ToWorker> message = DecodeToWorker(frame.to_string_view());
    if (!message.ok()) {
      logger_.error("protocol error: cannot decode a message from the coordinator: {}",
                    message.status().message());
      FlushLogs();
      return kExitProtocolError;
    }
    if (message->version != kProtocolVersion) {
      logger_.error("protocol error: coordinator speaks version {}, this worker {}",
                    message->version, kProtocolVersion);
      FlushLogs();
      return kExitProtocolError;
    }

    if (const auto* run = std::get_if<RunTasks>(&message->body)) {
      RunTasksInOrder(run->tasks);
    } else {
      logger_.info("worker stopping");
      FlushLogs();
      return kExitShutdown;
    }
    FlushLogs();
  }
}

void WorkerLoop::RunTasksInOrder(const std::vector<Assignment>& tasks) {
  // One report per task rather than one per batch, so that results stream
  // to the client as they complete.
  for (const Assignment& task : tasks) {
    SendReport({RunOne(task)});
  }
}

Outcome WorkerLoop::RunOne(const Assignment& task) {
  ScopedLogContext context(task.job, task.index);
  logger_.debug("running");
  // If this task kills the worker, what was logged so far is already out.
  FlushLogs();

  const auto start = std::chrono::steady_clock::now();
  TaskOutput output = registry_.Run(task.name, task.args);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);

  if (output.ok) {
    logger_.debug("done in {:.3f} ms", static_cast<double>(micros.count()) / 1000.0);
  } else {
    logger_.debug("failed: {}", output.error);
  }
  return Outcome{task.job,
                 task.index,
                 task.attempt,
                 output.ok,
                 std::move(output.value),
                 std::move(output.error),
                 static_cast<uint64_t>(micros.count())};
}

void WorkerLoop::SendReport(std::vector<Outcome> outcomes) {
  Send(FromWorker{kProtocolVersion, WorkerReport{std::move(outcomes), logs_.TakeAll()}});
}

void WorkerLoop::FlushLogs() {
  if (!logs_.empty()) SendReport({});
}

void WorkerLoop::Send(const FromWorker& message) {
  const std::string frame = EncodeFromWorker(message);
  // Blocking: a DEALER queues while it is connected, and a worker has
  // nothing better to do than wait for its coordinator.
  socket_.send(zmq::buffer(frame), zmq::send_flags::none);
}

}  // namespace jobd
