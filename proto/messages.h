// The messages of jobd as plain C++ values. Only codec.cc knows how they
// look on the wire (jobd.capnp); everything else speaks these structs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "util/log_record.h"

namespace jobd {

inline constexpr uint16_t kProtocolVersion = 1;

using JobId = uint64_t;
using RequestId = uint64_t;

enum class TaskStatus : uint8_t { kOk, kFailed, kCrashed, kTimeout, kCancelled };

struct TaskInput {
  std::string name;  // empty: the job's default task
  std::vector<std::string> args;
};

// The task that runs an external command: its args are the program and its
// arguments (jobctl map --exec, jobctl run).
inline constexpr const char* kCommandTaskName = "exec";

// How the command tasks of one job run.
struct CommandOptions {
  std::string cwd;               // working directory; empty: the worker's own
  std::vector<std::string> env;  // "K=V", on top of the daemon's environment
  std::string stdin_path;        // read as standard input; empty: /dev/null
  uint64_t max_output = 0;       // bytes kept of stdout, and of stderr's tail; 0: the worker's default
  uint64_t memory_limit = 0;     // RLIMIT_AS in bytes; 0: none
  uint64_t cpu_limit_us = 0;     // RLIMIT_CPU, rounded up to whole seconds; 0: none

  bool operator==(const CommandOptions&) const = default;
};

// How a command that started ended.
struct CommandEnd {
  int32_t exit_code = -1;  // -1 when a signal ended it
  int32_t signal = 0;      // the signal that ended it; 0 when it exited
  uint64_t cpu_us = 0;     // user + system time, from rusage
  uint64_t max_rss_bytes = 0;
  bool stdout_truncated = false;  // stdout was longer than max_output
  bool stderr_truncated = false;  // only stderr's tail was kept

  bool operator==(const CommandEnd&) const = default;
};

// A uid on the wire that stands for none (as (uid_t)-1 does for chown).
inline constexpr uint32_t kNoUid = 0xFFFFFFFF;

struct TaskResult {
  JobId job = 0;
  uint32_t index = 0;
  TaskStatus status = TaskStatus::kOk;
  std::string result;
  std::string error;
  int32_t pid = 0;
  uint32_t attempts = 0;
  uint64_t duration_us = 0;
  uint64_t seq = 0;  // position in the job's completion order, from 0
  std::optional<CommandEnd> command;  // for a command that started
  std::optional<uint32_t> uid;        // the uid it ran as, when known
};

// ---- client -> coordinator ------------------------------------------------

struct PingRequest {};
struct SubmitRequest {
  std::string default_task;
  std::vector<TaskInput> tasks;
  bool watch = false;
  uint32_t retries = 1;     // extra attempts after a crash
  uint64_t timeout_us = 0;  // 0: the daemon's default
  int32_t priority = 0;
  bool retry_timeouts = false;
  bool no_store = false;  // memory only: faster, lost on restart
  uint32_t window = 0;    // with watch: as in WatchRequest
  std::optional<CommandOptions> command;  // for the job's command tasks
};
struct WatchRequest {
  JobId job = 0;
  uint64_t from_seq = 0;  // the first result wanted, by seq
  uint32_t window = 0;    // results in flight before an ack; 0: the daemon's default
  bool follow = true;     // false: the results done now, then the end
};
// Results consumed so far on the stream opened by the request with the same
// request_id. Gets no reply.
struct AckRequest { uint64_t consumed = 0; };
struct TasksRequest {};
struct StatusRequest { JobId job = 0; };
struct JobsRequest {};
struct WorkersRequest {};
struct LogsRequest {};
struct CancelRequest { JobId job = 0; };
// What SIGHUP does, for one named jobd; answered by a PongReply.
struct ReloadRequest {};

using RequestBody = std::variant<PingRequest, SubmitRequest, WatchRequest, StatusRequest,
                                 JobsRequest, WorkersRequest, LogsRequest, CancelRequest,
                                 AckRequest, TasksRequest, ReloadRequest>;

struct Request {
  uint16_t version = kProtocolVersion;
  RequestId request_id = 0;
  RequestBody body;
};

// ---- coordinator -> client ------------------------------------------------

// New codes go at the end: the wire keeps each one's number.
enum class ErrorCode : uint8_t {
  kBadRequest, kVersionMismatch, kUnknownJob, kShuttingDown, kQueueFull, kInternal,
  kPermissionDenied  // another user's job, or a client jobd cannot identify
};

struct ErrorReply {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

struct PongReply {
  int32_t pid = 0;
  uint32_t workers = 0;
  uint64_t queued = 0;
  uint64_t running = 0;
  // The largest request jobd reads (--max-message-size): a client sends
  // nothing larger. 0 from a jobd that does not say.
  uint64_t max_message_size = 0;
};

enum class JobState : uint8_t { kRunning, kDone };

struct JobInfo {
  JobId job = 0;
  JobState state = JobState::kRunning;
  uint32_t total = 0;
  uint32_t queued = 0;
  uint32_t running = 0;
  uint32_t ok = 0;
  uint32_t failed = 0;
  uint32_t crashed = 0;
  uint32_t timeout = 0;
  uint32_t cancelled = 0;
  int64_t submitted_unix_us = 0;
  std::string task;
};

struct AcceptedReply { JobInfo job; };
struct ResultBatch {
  JobId job = 0;
  std::vector<TaskResult> results;
  bool done = false;
};
struct StatusReply { std::vector<JobInfo> jobs; };

enum class WorkerState : uint8_t {
  kStarting, kIdle, kBusy, kBackoff, kStopping, kRetiring, kLost, kVacant
};

struct WorkerInfo {
  uint32_t slot = 0;
  int32_t pid = 0;
  WorkerState state = WorkerState::kStarting;
  JobId job = 0;
  uint32_t task = 0;
  uint64_t tasks_done = 0;
  uint64_t rss_bytes = 0;
  uint64_t uptime_us = 0;
  std::optional<uint32_t> uid;  // the uid it runs as; none for a vacant slot
};
struct WorkersReply { std::vector<WorkerInfo> workers; };
struct LogsReply { std::string path; };

struct TaskInfo {
  std::string name;
  std::string kind;  // "built-in", "plugin" or "exec"
  std::string file;  // the plugin's library, for plugins
  std::string description;
  // A plugin's task that runs code its caller gives (an interpreter): a code
  // task, like a command, refused to callers that may not run code.
  bool runs_code = false;
};
struct TasksReply {
  std::vector<TaskInfo> tasks;
  std::vector<std::string> load_errors;  // plugins that failed to load, and why
};
struct CancelReply {
  JobInfo job;  // after the cancel
  uint32_t cancelled_queued = 0;
  uint32_t stopped_running = 0;
  bool already_finished = false;
};

using ReplyBody = std::variant<ErrorReply, PongReply, AcceptedReply, ResultBatch, StatusReply,
                               WorkersReply, LogsReply, CancelReply, TasksReply>;

struct Reply {
  uint16_t version = kProtocolVersion;
  RequestId request_id = 0;
  ReplyBody body;
};

// ---- coordinator -> worker ------------------------------------------------

struct Assignment {
  JobId job = 0;
  uint32_t index = 0;
  uint32_t attempt = 1;
  std::string name;
  std::vector<std::string> args;
  std::optional<CommandOptions> command;  // for a command task
};

struct RunTasks { std::vector<Assignment> tasks; };
struct ShutdownWorker {};
struct Heartbeat {};
// The job was cancelled: the worker drops the tasks of `job` it holds but
// has not begun, and reports them in WorkerReport::dropped. One it has begun
// runs on (a command's group is then signalled like any stopped command's).
struct ForgetTasks { JobId job = 0; };

struct ToWorker {
  uint16_t version = kProtocolVersion;
  std::variant<RunTasks, ShutdownWorker, Heartbeat, ForgetTasks> body;
};

// ---- worker -> coordinator ------------------------------------------------

struct WorkerReady {
  int32_t pid = 0;
  uint32_t slot = 0;
  uint32_t credit = 1;
  std::vector<TaskInfo> tasks;            // what it can run
  std::vector<std::string> load_errors;  // plugins it could not load
};

struct Outcome {
  JobId job = 0;
  uint32_t index = 0;
  uint32_t attempt = 1;
  bool ok = false;
  std::string value;
  std::string error;
  uint64_t duration_us = 0;
  std::optional<CommandEnd> command;  // for a command that started
};

// A command task's process has started, leading process group `pgid`: the
// coordinator signals that group to stop it (timeout, cancel).
struct CommandStarted {
  JobId job = 0;
  uint32_t index = 0;
  uint32_t attempt = 1;
  int32_t pgid = 0;
};

// A task the worker dropped without running it, on a ForgetTasks.
struct DroppedTask {
  JobId job = 0;
  uint32_t index = 0;
  uint32_t attempt = 1;
};

// Worker log records carry no pid or role: the coordinator fills those in
// from what it knows about the sender.
struct WorkerReport {
  std::vector<CommandStarted> started;  // before the outcomes
  std::vector<Outcome> outcomes;
  std::vector<LogRecord> logs;
  uint64_t rss_bytes = 0;  // the worker's resident set after these outcomes
  std::vector<DroppedTask> dropped;  // never run: their job was cancelled
};

struct FromWorker {
  uint16_t version = kProtocolVersion;
  std::variant<WorkerReady, WorkerReport, Heartbeat> body;
};

// Names as they appear in JSON output and human text.
const char* TaskStatusName(TaskStatus status);
const char* WorkerStateName(WorkerState state);
const char* JobStateName(JobState state);

}  // namespace jobd
