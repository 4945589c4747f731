# The wire format of jobd: client <-> coordinator and coordinator <-> worker.
# Every message is one ZeroMQ frame holding one Cap'n Proto message (flat
# array, unpacked). See PROTOCOL.md for the conversation rules.
#
# Compatibility rule: field @0 (version), @1 (requestId) and the `error`
# variant of Reply never move, so that any client can read a version error.
@0xc948d0973e0bd578;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("jobd::wire");

const protocolVersion :UInt16 = 1;

# ---- shared ---------------------------------------------------------------

enum TaskStatus { ok @0; failed @1; crashed @2; timeout @3; cancelled @4; }
enum LogLevel { trace @0; debug @1; info @2; warn @3; error @4; critical @5; }

struct TaskInput {
  name @0 :Text;          # task name; empty means the job's defaultTask
  args @1 :List(Text);
}

struct TaskResult {
  job @0 :UInt64;
  index @1 :UInt32;       # position in the submission
  status @2 :TaskStatus;
  result @3 :Text;
  error @4 :Text;
  pid @5 :Int32;          # worker that ran the last attempt (0: never ran)
  attempts @6 :UInt32;
  durationUs @7 :UInt64;
  seq @8 :UInt64;         # position in the job's completion order, from 0
  command @9 :CommandEnd; # set for a command task whose command started
  uid @10 :UInt32 = 4294967295;  # the uid it ran as (2^32-1: not known)
}

# How the command tasks (name "exec") of a job run.
struct CommandOptions {
  cwd @0 :Text;                # empty: the worker's own
  env @1 :List(Text);          # "K=V", on top of the daemon's environment
  stdinPath @2 :Text;          # empty: /dev/null
  maxOutput @3 :UInt64;        # bytes of stdout and of stderr's tail kept; 0: default
  memoryLimit @4 :UInt64;      # RLIMIT_AS bytes; 0: none
  cpuLimitUs @5 :UInt64;       # RLIMIT_CPU; 0: none
}

# How a command ended.
struct CommandEnd {
  exitCode @0 :Int32;          # -1 when a signal ended it
  signal @1 :Int32;            # 0 when it exited
  cpuUs @2 :UInt64;            # user + system, from rusage
  maxRssBytes @3 :UInt64;
  stdoutTruncated @4 :Bool;
  stderrTruncated @5 :Bool;
}

# ---- client -> coordinator ----------------------------------------------

struct Request {
  version @0 :UInt16;     # protocolVersion of the sender, checked on every request
  requestId @1 :UInt64;   # echoed in every reply to this request
  union {
    ping @2 :Void;
    submit @3 :Submit;
    watch @4 :Watch;      # stream a job's results (done ones first)
    status @5 :UInt64;    # job id
    jobs @6 :Void;
    workers @7 :Void;
    logs @8 :Void;
    cancel @9 :UInt64;    # job id: cancel its queued and running tasks
    ack @10 :UInt64;      # results consumed on the stream of this requestId; no reply
    tasks @11 :Void;      # the task names the workers know
    reload @12 :Void;     # as SIGHUP: workers recycle (plugins), keys read again; answered by pong
  }
}

struct Watch {
  job @0 :UInt64;
  fromSeq @1 :UInt64;          # the first result wanted, by seq: resume after a break
  window @2 :UInt32;           # results in flight before an ack; 0: the daemon's default
  follow @3 :Bool = true;      # false: what is done now, then the end (jobctl results)
}

struct Submit {
  defaultTask @0 :Text;
  tasks @1 :List(TaskInput);   # one task each; a batch of any size
  watch @2 :Bool;              # also stream results to the sender
  retries @3 :UInt32;          # extra attempts after a crash
  timeoutUs @4 :UInt64;        # 0: the daemon's default
  priority @5 :Int32;
  retryTimeouts @6 :Bool;      # a timed-out task counts as a crash for retries
  noStore @7 :Bool;            # keep the job in memory only: faster, lost on restart
  window @8 :UInt32;           # with watch: as in Watch.window
  command @9 :CommandOptions;  # for the job's command tasks
}

# ---- coordinator -> client ------------------------------------------------

enum ErrorCode {
  badRequest @0; versionMismatch @1; unknownJob @2; shuttingDown @3;
  queueFull @4; internal @5;
  permissionDenied @6;         # another user's job; new codes only ever go at the end
}

struct Reply {
  version @0 :UInt16;
  requestId @1 :UInt64;
  union {
    error @2 :Error;
    pong @3 :Pong;
    accepted @4 :JobInfo;      # answer to submit and watch: results follow
    results @5 :ResultBatch;
    status @6 :List(JobInfo);  # answer to status (one) and jobs (all)
    workers @7 :List(WorkerInfo);
    logs @8 :LogsInfo;
    cancelled @9 :Cancelled;
    tasks @10 :TaskList;
  }
}

struct TaskInfo {
  name @0 :Text;
  kind @1 :Text;               # "built-in" or "plugin"
  file @2 :Text;               # the plugin's library, for plugins
  description @3 :Text;        # one line
  runsCode @4 :Bool;           # runs code its caller gives (a plugin said so)
}

struct TaskList {
  tasks @0 :List(TaskInfo);
  loadErrors @1 :List(Text);   # plugins that failed to load, with the loader's message
}

struct Cancelled {
  job @0 :JobInfo;             # after the cancel
  cancelledQueued @1 :UInt32;
  stoppedRunning @2 :UInt32;
  alreadyFinished @3 :Bool;    # nothing was left to cancel
}

struct Error { code @0 :ErrorCode; message @1 :Text; }

struct Pong {
  pid @0 :Int32;
  workers @1 :UInt32;
  queued @2 :UInt64;
  running @3 :UInt64;
  maxMessageSize @4 :UInt64;   # the largest request jobd reads (--max-message-size); 0: unsaid
}

enum JobState { running @0; done @1; }

struct JobInfo {
  job @0 :UInt64;
  state @1 :JobState;
  total @2 :UInt32;
  queued @3 :UInt32;
  running @4 :UInt32;
  ok @5 :UInt32;
  failed @6 :UInt32;
  crashed @7 :UInt32;
  timeout @8 :UInt32;
  cancelled @9 :UInt32;
  submittedUnixUs @10 :Int64;
  task @11 :Text;              # the default task name, for display
}

struct ResultBatch {
  job @0 :UInt64;
  results @1 :List(TaskResult);
  done @2 :Bool;               # last batch of this job's stream
}

enum WorkerState {
  starting @0; idle @1; busy @2; backoff @3; stopping @4;
  retiring @5;                 # finishing its task, then replaced (recycling)
  lost @6;                     # stopped answering or was stopped; killed, not yet reaped
  vacant @7;                   # no process: per-user workers start on demand
}

struct WorkerInfo {
  slot @0 :UInt32;
  pid @1 :Int32;
  state @2 :WorkerState;
  job @3 :UInt64;              # current task, when busy
  task @4 :UInt32;
  tasksDone @5 :UInt64;
  rssBytes @6 :UInt64;
  uptimeUs @7 :UInt64;
  uid @8 :UInt32 = 4294967295; # the uid it runs as (2^32-1: vacant)
}

struct LogsInfo { path @0 :Text; }

# ---- coordinator -> worker --------------------------------------------------

struct ToWorker {
  version @0 :UInt16;
  union {
    run @1 :List(Assignment);  # credit-limited batch
    shutdown @2 :Void;         # finish what you hold, then exit 0
    heartbeat @3 :Void;        # the coordinator is alive
    forget @4 :Forget;         # drop the tasks of a cancelled job not begun yet
  }
}

struct Forget { job @0 :UInt64; }

struct Assignment {
  job @0 :UInt64;
  index @1 :UInt32;
  attempt @2 :UInt32;
  name @3 :Text;
  args @4 :List(Text);
  command @5 :CommandOptions;  # set for a command task
}

# ---- worker -> coordinator --------------------------------------------------

struct FromWorker {
  version @0 :UInt16;
  union {
    ready @1 :Ready;           # first message of every worker
    report @2 :Report;
    heartbeat @3 :Void;        # the worker is alive (sent also while a task runs)
  }
}

struct Ready {
  pid @0 :Int32;
  slot @1 :UInt32;
  credit @2 :UInt32;           # how many tasks it may hold at once
  tasks @3 :List(TaskInfo);    # what it can run
  loadErrors @4 :List(Text);   # plugins it could not load
}

struct Report {
  outcomes @0 :List(Outcome);
  logs @1 :List(LogRecord);
  rssBytes @2 :UInt64;         # the worker's resident set after these outcomes
  started @3 :List(CommandStarted);  # commands started since the last report
  dropped @4 :List(DroppedTask);     # dropped unrun on a forget
}

struct DroppedTask {
  job @0 :UInt64;
  index @1 :UInt32;
  attempt @2 :UInt32;
}

struct CommandStarted {
  job @0 :UInt64;
  index @1 :UInt32;
  attempt @2 :UInt32;
  pgid @3 :Int32;              # the command's process group
}

struct Outcome {
  job @0 :UInt64;
  index @1 :UInt32;
  attempt @2 :UInt32;
  ok @3 :Bool;
  value @4 :Text;              # the result when ok
  error @5 :Text;              # the message when not
  durationUs @6 :UInt64;
  command @7 :CommandEnd;      # set for a command that started
}

struct LogRecord {
  tsUnixUs @0 :Int64;
  level @1 :LogLevel;
  msg @2 :Text;
  hasJob @3 :Bool;
  job @4 :UInt64;
  hasTask @5 :Bool;
  task @6 :UInt32;
}
