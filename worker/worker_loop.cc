#include "worker/worker_loop.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "proto/codec.h"
#include "util/resident_set.h"

namespace jobd {
namespace {

// Each turn reads at most this many messages, so that outcomes and
// heartbeats are not starved by a chatty coordinator.
constexpr int kMaxMessagesPerTurn = 16;

// Rounded up, so that a poll never wakes just before its deadline and spins.
std::chrono::milliseconds CeilMillis(std::chrono::steady_clock::duration d) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::ceil<std::chrono::milliseconds>(d));
}

}  // namespace

WorkerLoop::WorkerLoop(zmq::socket_ref socket, const TaskRegistry& registry,
                       uint32_t slot, spdlog::logger& logger, PendingLogs& logs,
                       std::chrono::milliseconds heartbeat_interval,
                       uint32_t heartbeat_misses, std::vector<std::string> load_errors)
    : socket_(socket),
      registry_(registry),
      slot_(slot),
      logger_(logger),
      logs_(logs),
      heartbeat_interval_(heartbeat_interval),
      heartbeat_misses_(heartbeat_misses),
      load_errors_(std::move(load_errors)) {}

WorkerLoop::~WorkerLoop() = default;

int WorkerLoop::Run() {
  assert(runner_ == nullptr && "WorkerLoop::Run() runs once");
  Result<std::unique_ptr<TaskRunner>> runner = TaskRunner::Start(registry_, logger_, logs_);
  if (!runner.ok()) {
    // Before Ready, so the coordinator sees only an early exit; the reason
    // reaches stderr through the logger.
    logger_.error("cannot start the task thread: {}", runner.status().message());
    return kExitStartupError;
  }
  runner_ = std::move(*runner);

  // The silence clock starts now: the coordinator has a full liveness
  // period to say anything after our Ready.
  last_heard_ = Clock::now();
  WorkerReady ready;
  ready.pid = static_cast<int32_t>(getpid());
  ready.slot = slot_;
  ready.credit = kCredit;
  for (const TaskEntry* entry : registry_.List()) {
    ready.tasks.push_back(TaskInfo{entry->name, std::string(TaskKindName(entry->kind)),
                                   entry->file, entry->description, entry->runs_code});
  }
  ready.load_errors = load_errors_;
  Send(FromWorker{kProtocolVersion, std::move(ready)});
  logger_.info("worker ready");
  FlushLogs();

  while (true) {
    const Clock::time_point now = Clock::now();
    if (now >= LivenessDeadline()) {
      const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(
          now - last_heard_);
      logger_.error("coordinator silent for {} ms; exiting", silent.count());
      FlushLogs();  // a try: gives up at once, the deadline having passed
      return kExitCoordinatorLost;
    }
    // Anything we send is a sign of life, so a heartbeat is due only after
    // an interval without other messages.
    const Clock::time_point next_heartbeat = last_sent_ + heartbeat_interval_;
    if (now >= next_heartbeat) {
      Send(FromWorker{kProtocolVersion, Heartbeat{}});
      continue;
    }
    const std::optional<Clock::time_point> starts_due = StartsDue();
    if (starts_due && now >= *starts_due) {
      SendReport({});
      continue;
    }

    zmq::pollitem_t items[] = {
        {socket_.handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, runner_->fd(), ZMQ_POLLIN, 0},
    };
    Clock::time_point wake = std::min(next_heartbeat, LivenessDeadline());
    if (starts_due) wake = std::min(wake, *starts_due);
    // Commands' starts do not wake us (see TaskRunner::fd): while it holds
    // commands, look for them at least every kStartReportDelay. (A long
    // function task then costs no wake-ups.)
    const bool watch_starts = runner_->holds_commands();
    if (watch_starts) wake = std::min(wake, now + kStartReportDelay);
    zmq::poll(items, 2, CeilMillis(wake - now));

    // Outcomes first: they are what the coordinator is waiting for.
    if ((items[1].revents & ZMQ_POLLIN) != 0 || watch_starts) HandleTaskEvents();
    if ((items[0].revents & ZMQ_POLLIN) != 0) {
      if (const int code = HandleMessages(Clock::now()); code >= 0) return code;
    }
    if (runner_->idle()) {
      if (stopping_) {
        logger_.info("worker stopping");
        FlushLogs();
        return kExitShutdown;
      }
      // Only while idle: a running task's records go out with the next
      // release or with its outcome, so that "done in" travels in the same
      // report as the outcome it describes.
      FlushLogs();
    }
  }
}

bool WorkerLoop::HandleTaskEvents() {
  TaskRunner::Events events = runner_->TakeEvents();
  // Everything that finished since the last look goes in one report: a lone
  // outcome when tasks are long (it leaves as soon as it exists), many when
  // they are short and finish faster than reports go out. That is the
  // adaptive half of batching; the coordinator's batch sizes are the other.
  // A command's process group waits a little (kStartReportDelay): most
  // short commands end first, and then it need not be sent at all.
  if (!events.started.empty()) {
    if (unsent_starts_.empty()) starts_held_since_ = Clock::now();
    for (CommandStarted& started : events.started) unsent_starts_.push_back(started);
  }
  if (!events.outcomes.empty()) {
    if (!SendReport(std::move(events.outcomes))) return false;
  }
  if (events.awaiting_release) {
    // The task thread has logged "running" and waits: whatever was logged
    // so far leaves now, before a body that might kill the process starts.
    if (!FlushLogs()) return false;
    runner_->Release();
  }
  return true;
}

int WorkerLoop::HandleMessages(Clock::time_point now) {
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) break;
    last_heard_ = now;  // any message is a sign of life
    if (const int code = HandleMessage(frame); code >= 0) return code;
  }
  return -1;
}

int WorkerLoop::HandleMessage(const zmq::message_t& frame) {
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

  if (auto* run = std::get_if<RunTasks>(&message->body)) {
    runner_->Submit(std::move(run->tasks));
  } else if (auto* forget = std::get_if<ForgetTasks>(&message->body)) {
    // Said at once: until then the coordinator counts them as held.
    // The starts not reported yet go too: a begun command of the job is to
    // be stopped.
    HandleTaskEvents();
    std::vector<DroppedTask> dropped = runner_->Forget(forget->job);
    if (!dropped.empty() || !unsent_starts_.empty()) SendReport({}, std::move(dropped));
  } else if (std::holds_alternative<ShutdownWorker>(message->body)) {
    // The coordinator sends it only to a worker holding nothing, but if a
    // task is still here, it is finished and reported first.
    stopping_ = true;
  }
  // A Heartbeat says only that the coordinator is alive, noted by the caller.
  return -1;
}

bool WorkerLoop::SendReport(std::vector<Outcome> outcomes, std::vector<DroppedTask> dropped) {
  // A command that has ended cannot be stopped any more: its group is not
  // worth reporting (and its id may be reused).
  std::vector<CommandStarted> started = std::exchange(unsent_starts_, {});
  std::erase_if(started, [&](const CommandStarted& s) {
    return std::any_of(outcomes.begin(), outcomes.end(), [&](const Outcome& o) {
      return o.job == s.job && o.index == s.index && o.attempt == s.attempt;
    });
  });
  // RSS after the outcomes, so the coordinator sees what the tasks left.
  return Send(FromWorker{kProtocolVersion,
                         WorkerReport{std::move(started), std::move(outcomes), logs_.TakeAll(),
                                      ResidentBytes(), std::move(dropped)}});
}

std::optional<WorkerLoop::Clock::time_point> WorkerLoop::StartsDue() const {
  if (unsent_starts_.empty()) return std::nullopt;
  return starts_held_since_ + kStartReportDelay;
}

bool WorkerLoop::FlushLogs() {
  if (logs_.empty()) return true;
  return SendReport({});
}

bool WorkerLoop::Send(const FromWorker& message) {
  const std::string frame = EncodeFromWorker(message);
  while (true) {
    if (socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
      last_sent_ = Clock::now();
      return true;
    }
    // The queue to the coordinator is full: it has stopped reading. Wait
    // for room, but no longer than it may stay silent.
    const Clock::time_point now = Clock::now();
    if (now >= LivenessDeadline()) return false;
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLOUT, 0};
    zmq::poll(&item, 1, CeilMillis(LivenessDeadline() - now));
  }
}

WorkerLoop::Clock::time_point WorkerLoop::LivenessDeadline() const {
  return last_heard_ + heartbeat_interval_ * heartbeat_misses_;
}

}  // namespace jobd
