// jobctl: the command-line client of jobd. Arguments -> Client -> output.
// Exit status: 0 all tasks ok / request done, 1 a task or the request
// failed (an unknown job, another user's job), 2 usage or connection errors
// (a socket this user may not open, a CURVE key jobd refuses), 130 left on
// Ctrl-C.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/account_name.h"
#include "client/client.h"
#include "client/command_request.h"
#include "client/keygen.h"
#include "client/log_tail.h"
#include "client/output.h"
#include "client/progress_line.h"
#include "client/task_list.h"
#include "client/usage_errors.h"
#include "util/duration.h"
#include "util/endpoints.h"
#include "util/log_record.h"

namespace jobd {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitNotOk = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 128 + SIGINT;

// Ctrl-C while a stream is open (see CatchSigint). The handler only touches
// these lock-free atomics; the Client looks at the flag while it waits.
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_sigints{0};  // presses so far
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

void OnSigint(int) {
  g_sigints.fetch_add(1);
  g_interrupted.store(true);
}

// Routes SIGINT to g_interrupted and makes `client`'s waits watch it. No
// SA_RESTART, so that a blocking call on the receiving thread ends with EINTR;
// the Client also polls the flag, for when another thread gets the signal.
Status CatchSigint(Client& client) {
  struct sigaction action {};
  action.sa_handler = OnSigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  if (::sigaction(SIGINT, &action, nullptr) != 0) return SysError("sigaction", "SIGINT", errno);
  client.SetInterruptFlag(&g_interrupted);
  return Status::Ok();
}

// What Ctrl-C does to a streamed job: map cancels the job it started
// (unless --detach); watch did not start it and leaves it running.
enum class OnInterrupt { kCancel, kLeave };

struct GlobalOptions {
  std::string socket;
  bool json = false;
  // tcp:// only: jobd's public key (or a file holding it), this client's key pair file.
  std::string curve_server_key;
  std::string curve_key_file;
};

struct SubmitOptions {
  // TASK ARG..., or with --exec the ITEMs, or for run the command's words.
  std::vector<std::string> words;
  TaskShape shape;  // -n, --repeat
  CommandFlags command;
  uint32_t retries = 1;
  std::string timeout;
  int32_t priority = 0;
  bool retry_timeouts = false;
  bool ordered = false;
  bool detach = false;  // map: Ctrl-C leaves the job running
  bool no_store = false;
};

struct WatchOptions {
  JobId job = 0;
  bool ordered = false;
  uint64_t from_seq = 0;
};

// How StreamResults reads a stream and judges its end.
struct StreamMode {
  OnInterrupt on_interrupt = OnInterrupt::kLeave;
  // Results the stream skips (watch --from-seq): they are not expected.
  uint64_t skipped = 0;
  // `results`: what is done now, from a job that may still be running.
  bool snapshot = false;
  // `run`: the command's own output instead of result lines.
  bool raw = false;
};

struct LogsOptions {
  bool follow = false;
  std::optional<int32_t> pid;
  std::optional<uint64_t> job;
  std::string log_dir;
};

void PrintError(const std::string& message) {
  std::fprintf(stderr, "jobctl: %s\n", message.c_str());
}

// One line to stdout, flushed at once (unless `flush` is false) so that
// results stream through pipes.
void PrintLine(const std::string& line, bool flush = true) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  if (flush) std::fflush(stdout);
}

// `jobctl run`: the command's stdout to stdout and its stderr's tail to
// stderr, as if it had run here; how it failed, if it did, as a last line.
void PrintRaw(const TaskResult& result) {
  std::fwrite(result.result.data(), 1, result.result.size(), stdout);
  std::fflush(stdout);
  if (result.command) std::fwrite(result.error.data(), 1, result.error.size(), stderr);
  if (result.status == TaskStatus::kOk) return;
  std::string why = TaskStatusName(result.status);
  if (result.command) {
    why += " (" + CommandEndText(*result.command) + ")";
  } else if (!result.error.empty()) {
    why += ": " + result.error;
  }
  PrintError(why);
}

// Connection trouble and requests the daemon rejects as malformed are the
// caller's to fix (2); anything else the request itself failed (1).
int ExitFor(const Status& status) {
  const bool usage = status.code() == StatusCode::kUnavailable ||
                     status.code() == StatusCode::kInvalidArgument;
  return usage ? kExitUsage : kExitNotOk;
}

int Fail(const Status& status) {
  PrintError(status.message());
  return ExitFor(status);
}

// The CURVE keys for a tcp:// endpoint; none when neither option is given
// (Client::Connect then refuses plain-text TCP, saying what to give).
Result<std::optional<CurveClientKeys>> CurveKeys(const GlobalOptions& global) {
  if (global.curve_server_key.empty() && global.curve_key_file.empty()) {
    return std::optional<CurveClientKeys>();
  }
  if (global.curve_server_key.empty() || global.curve_key_file.empty()) {
    return Status::InvalidArgument(
        "a tcp:// endpoint needs both --curve-server-key (jobd's public key) and "
        "--curve-key-file (this client's key pair)");
  }
  Result<std::string> server_key = ResolvePublicKey(global.curve_server_key);
  if (!server_key.ok()) {
    return Status::InvalidArgument("--curve-server-key: " + server_key.status().message());
  }
  Result<std::string> text = ReadKeyFile(global.curve_key_file);
  if (!text.ok()) return Status::InvalidArgument("--curve-key-file: " + text.status().message());
  Result<CurveKeyPair> keys = ParseKeyPairFile(*text, global.curve_key_file);
  if (!keys.ok()) return Status::InvalidArgument("--curve-key-file: " + keys.status().message());
  return std::optional<CurveClientKeys>(CurveClientKeys{*server_key, *keys});
}

Result<std::unique_ptr<Client>> Open(const GlobalOptions& global) {
  ClientOptions options;
  options.endpoint = global.socket;
  if (IsTcpEndpoint(global.socket)) {
    Result<std::optional<CurveClientKeys>> curve = CurveKeys(global);
    if (!curve.ok()) return curve.status();
    options.curve = std::move(*curve);
  }
  return Client::Connect(options);
}

// `keygen`: a key pair, to files (PREFIX.key, PREFIX.pub) or to stdout.
int RunKeygen(const std::string& prefix) {
  Result<CurveKeyPair> keys = GenerateCurveKeyPair();
  if (!keys.ok()) return Fail(keys.status());
  if (prefix.empty()) {
    std::fputs(FormatKeyPairFile(*keys).c_str(), stdout);
    return kExitOk;
  }
  // Whatever stops the files (an existing pair, no such folder, no
  // permission) is the caller's to fix, and nothing was written: 2.
  if (Status written = WriteKeyPairFiles(*keys, prefix); !written.ok()) {
    PrintError(written.message());
    return kExitUsage;
  }
  PrintLine(keys->public_key);
  PrintError("wrote " + prefix + ".key (the key pair: keep it secret, mode 0600) and " + prefix +
             ".pub (the public key)");
  return kExitOk;
}

std::string WorkingDirectory() {
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  return ec ? "/" : cwd;
}

// The tasks of map/submit: TASK [ARG...] (see TasksFromArgs), or a command
// per ITEM with --exec, each list --repeat times over.
Status AddTasks(const SubmitOptions& options, SubmitRequest& request) {
  if (!options.command.exec.empty()) {
    if (options.shape.args_per_task != 1) {
      return Status::InvalidArgument("-n applies to TASK ARG..., not to --exec (one command "
                                     "per ITEM)");
    }
    if (Status s = CheckRepeat(options.words.size(), options.shape.repeat); !s.ok()) return s;
    Result<std::vector<TaskInput>> tasks = CommandTasks(options.command, options.words);
    if (!tasks.ok()) return tasks.status();
    RepeatTasks(options.shape.repeat, *tasks);
    request.default_task = kCommandTaskName;
    request.tasks = std::move(*tasks);
    return Status::Ok();
  }
  if (options.command.AnyOption()) {
    return Status::InvalidArgument(
        "--shell, --cwd, --env, --stdin, --max-output, --memory-limit and --cpu-limit apply "
        "to commands only (--exec, or jobctl run)");
  }
  if (options.words.empty()) return Status::InvalidArgument("no TASK given");
  Result<std::vector<TaskInput>> tasks = TasksFromArgs(
      std::vector<std::string>(options.words.begin() + 1, options.words.end()), options.shape);
  if (!tasks.ok()) return tasks.status();
  request.default_task = options.words[0];
  request.tasks = std::move(*tasks);
  return Status::Ok();
}

// `run`: whether the request is for `jobctl run` (one command, its words).
Result<SubmitRequest> BuildSubmit(const SubmitOptions& options, bool run = false) {
  SubmitRequest request;
  request.retries = options.retries;
  request.priority = options.priority;
  request.retry_timeouts = options.retry_timeouts;
  request.no_store = options.no_store;
  if (!options.timeout.empty()) {
    Result<Micros> timeout = ParseDuration(options.timeout);
    if (!timeout.ok()) {
      return Status::InvalidArgument("--timeout: " + timeout.status().message());
    }
    request.timeout_us = static_cast<uint64_t>(timeout->count());
  }
  if (run) {
    Result<TaskInput> task = RunTask(options.command, options.words);
    if (!task.ok()) return task.status();
    request.default_task = kCommandTaskName;
    request.tasks.push_back(std::move(*task));
  } else if (Status added = AddTasks(options, request); !added.ok()) {
    return added;
  }
  if (request.default_task == kCommandTaskName) {
    Result<CommandOptions> command = BuildCommandOptions(options.command, WorkingDirectory());
    if (!command.ok()) return command.status();
    request.command = std::move(*command);
  }
  return request;
}

// The flags of command tasks; `exec` for map and submit (run takes the
// command itself).
void AddCommandOptions(CLI::App* command, CommandFlags* flags, bool exec) {
  if (exec) {
    command->add_option("--exec", flags->exec,
                        "run this command once per ITEM instead of a TASK: {} is the item, {.} "
                        "without extension, {/} its base name, {//} its directory, {/.} base "
                        "name without extension, as in GNU parallel (.bashrc is all "
                        "extension; {//} is POSIX dirname); with none, the item is the last "
                        "argument. Quotes as in sh, but no shell runs unless --shell");
  }
  command->add_flag("--shell", flags->shell,
                    "run the command with /bin/sh -c (items are quoted for it)");
  command->add_option("--cwd", flags->cwd,
                      "the command's working directory (default: the current one)");
  command->add_option("--env", flags->env, "K=V added to the command's environment (repeatable)")
      ->allow_extra_args(false);  // one K=V per --env: a command may follow
  command->add_option("--stdin", flags->stdin_path,
                      "a file as the command's standard input (default: /dev/null)");
  command->add_option("--max-output", flags->max_output,
                      "stdout kept as the result, and stderr's tail kept (default: jobd's, 1M)");
  command->add_option("--memory-limit", flags->memory_limit,
                      "the command's address-space limit (RLIMIT_AS), e.g. 512M");
  command->add_option("--cpu-limit", flags->cpu_limit,
                      "the command's CPU time limit (RLIMIT_CPU, whole seconds), e.g. 30s");
}

void AddSubmitOptions(CLI::App* command, SubmitOptions* options, bool run = false) {
  if (run) {
    command->add_option("COMMAND", options->words, "the program and its arguments, after --");
  } else {
    command->add_option("TASK ARG", options->words,
                        "the task, then its ARGs: one task per ARG (per N ARGs with -n); "
                        "no ARG: one task with no arguments. With --exec: the ITEMs");
    command->add_option("-n,--args-per-task", options->shape.args_per_task,
                        "take the ARGs N at a time, one task each, like xargs -n (their count "
                        "must be a multiple of N)")
        ->capture_default_str();
    command->add_option("--repeat", options->shape.repeat,
                        "run the whole list of tasks N times over (index i runs the ARGs of "
                        "task i mod the list's length); with no ARG, the task N times. At most "
                        "1000000 tasks")
        ->capture_default_str();
  }
  AddCommandOptions(command, &options->command, /*exec=*/!run);
  command->add_option("--retries", options->retries,
                      "extra attempts after a crash (and a timeout, with --retry-timeouts)")
      ->capture_default_str();
  command->add_flag("--retry-timeouts", options->retry_timeouts,
                    "a timed-out task counts as a crash for --retries");
  command->add_option("--timeout", options->timeout, "per-task time limit, e.g. 500ms, 30s, 5m");
  command->add_option("--priority", options->priority, "higher runs first")
      ->capture_default_str();
  command->add_flag("--no-store", options->no_store,
                    "keep the job in memory only: faster, but lost if jobd restarts");
}

// Prints every result of `stream`; 0 when all ended ok. On the first Ctrl-C,
// kCancel cancels the job and keeps printing (the cancelled results too)
// until the stream ends, then returns 1; a second Ctrl-C returns 130 at
// once. kLeave returns 130 at the first Ctrl-C. A snapshot (`results`) of a
// job still running returns 1 with a note.
int StreamResults(const GlobalOptions& global, Client& client, ResultStream& stream,
                  const StreamMode& mode) {
  const OnInterrupt on_interrupt = mode.on_interrupt;
  const JobInfo& job = stream.job();
  const uint32_t expected =
      job.total - static_cast<uint32_t>(std::min<uint64_t>(mode.skipped, job.total));
  const bool stdout_is_tty = ::isatty(STDOUT_FILENO) == 1;
  ProgressLine progress(stderr, ::isatty(STDERR_FILENO) == 1, expected,
                        std::chrono::steady_clock::now());
  const std::string job_name = "job " + std::to_string(job.job);
  uint32_t seen = 0;
  bool all_ok = true;
  bool cancelling = false;
  while (true) {
    // Checked between results too: a busy stream may never need to wait.
    if (g_interrupted.exchange(false)) {
      progress.Clear();
      // Counted after clearing the flag: a press in between is seen here,
      // a later one sets the flag again.
      const bool again = cancelling || g_sigints.load() >= 2;
      if (on_interrupt == OnInterrupt::kLeave || again) {
        if (!cancelling) PrintError("leaving " + job_name + " running");
        return kExitInterrupted;
      }
      cancelling = true;
      PrintError("cancelling " + job_name + " (Ctrl-C again to stop waiting for its last results)");
      Result<CancelReply> cancelled = client.Cancel(job.job);
      // Interrupted: the loop's top handles the second Ctrl-C. Otherwise the
      // stream may still end on its own, so say why and keep reading.
      if (!cancelled.ok() && !client.interrupted()) {
        PrintError("cannot cancel " + job_name + ": " + cancelled.status().message());
      }
      continue;
    }
    Result<std::optional<TaskResult>> next = stream.Next();
    if (!next.ok() && stream.interrupted()) continue;
    if (!next.ok()) {
      progress.Clear();
      return Fail(next.status());
    }
    if (!next->has_value()) break;
    const TaskResult& result = **next;
    // Results and the progress line share the terminal: erase it first.
    if (stdout_is_tty) progress.Clear();
    if (mode.raw && !global.json) {
      PrintRaw(result);
    } else {
      // Flushed once no more results are at hand: lines still leave as soon
      // as they exist, but a burst costs one write, not one a line.
      PrintLine(global.json ? ResultJsonLine(result) : ResultHumanLine(result, job.total),
                /*flush=*/!stream.HasReady());
    }
    progress.Add(result, std::chrono::steady_clock::now());
    ++seen;
    all_ok = all_ok && result.status == TaskStatus::kOk;
  }
  progress.Clear();
  if (mode.snapshot && job.state == JobState::kRunning) {
    PrintError(job_name + " is still running: " + std::to_string(mode.skipped + seen) + " of " +
               std::to_string(job.total) + " results");
    all_ok = false;
  } else if (seen < expected) {
    PrintError(job_name + " ended with " + std::to_string(mode.skipped + seen) + " of " +
               std::to_string(job.total) + " results");
    all_ok = false;
  }
  // Cancelled by the user: not what was asked for, even if nothing was left.
  return all_ok && !cancelling ? kExitOk : kExitNotOk;
}

int RunPing(const GlobalOptions& global) {
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  Micros round_trip{0};
  Result<PongReply> pong = (*client)->Ping(&round_trip);
  if (!pong.ok()) return Fail(pong.status());
  PrintLine(global.json ? PingJsonLine(*pong, round_trip) : PingHumanLine(*pong, round_trip));
  return kExitOk;
}

int RunReload(const GlobalOptions& global) {
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  Result<PongReply> pong = (*client)->Reload();
  if (!pong.ok()) return Fail(pong.status());
  if (global.json) {
    PrintLine(ReloadJsonLine(*pong));
  } else {
    PrintLine(ReloadHumanLine(*pong));
  }
  return kExitOk;
}

int RunMap(const GlobalOptions& global, const SubmitOptions& options) {
  Result<SubmitRequest> request = BuildSubmit(options);
  if (!request.ok()) return Fail(request.status());
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  if (Status s = CatchSigint(**client); !s.ok()) return Fail(s);
  Result<std::unique_ptr<ResultStream>> stream =
      (*client)->Map(std::move(*request), options.ordered);
  if (!stream.ok() && (*client)->interrupted()) {
    // The job may have been accepted, but we never learnt its id.
    PrintError("interrupted before jobd accepted the job (see jobctl jobs)");
    return kExitInterrupted;
  }
  if (!stream.ok()) return Fail(stream.status());
  StreamMode mode;
  mode.on_interrupt = options.detach ? OnInterrupt::kLeave : OnInterrupt::kCancel;
  return StreamResults(global, **client, **stream, mode);
}

int RunCommand(const GlobalOptions& global, const SubmitOptions& options) {
  Result<SubmitRequest> request = BuildSubmit(options, /*run=*/true);
  if (!request.ok()) return Fail(request.status());
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  if (Status s = CatchSigint(**client); !s.ok()) return Fail(s);
  Result<std::unique_ptr<ResultStream>> stream = (*client)->Map(std::move(*request), false);
  if (!stream.ok() && (*client)->interrupted()) {
    PrintError("interrupted before jobd accepted the job (see jobctl jobs)");
    return kExitInterrupted;
  }
  if (!stream.ok()) return Fail(stream.status());
  StreamMode mode;
  mode.on_interrupt = options.detach ? OnInterrupt::kLeave : OnInterrupt::kCancel;
  mode.raw = true;
  return StreamResults(global, **client, **stream, mode);
}

int RunSubmit(const GlobalOptions& global, const SubmitOptions& options) {
  Result<SubmitRequest> request = BuildSubmit(options);
  if (!request.ok()) return Fail(request.status());
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  Result<JobInfo> job = (*client)->Submit(std::move(*request));
  if (!job.ok()) return Fail(job.status());
  PrintLine(global.json ? SubmittedJsonLine(job->job) : std::to_string(job->job));
  return kExitOk;
}

// watch (follow) and results (a snapshot: what is done now).
int RunWatch(const GlobalOptions& global, const WatchOptions& options, bool follow) {
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  if (Status s = CatchSigint(**client); !s.ok()) return Fail(s);
  Result<std::unique_ptr<ResultStream>> stream =
      (*client)->Watch(options.job, options.ordered, options.from_seq, follow);
  if (!stream.ok() && (*client)->interrupted()) return kExitInterrupted;
  if (!stream.ok()) return Fail(stream.status());
  StreamMode mode;
  mode.on_interrupt = OnInterrupt::kLeave;
  mode.skipped = options.from_seq;
  mode.snapshot = !follow;
  return StreamResults(global, **client, **stream, mode);
}

int RunCancel(const GlobalOptions& global, JobId job) {
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  Result<CancelReply> reply = (*client)->Cancel(job);
  if (!reply.ok()) return Fail(reply.status());
  PrintLine(global.json ? CancelJsonLine(*reply) : CancelHumanLine(*reply));
  return kExitOk;
}

int PrintJobs(const GlobalOptions& global, const std::vector<JobInfo>& jobs) {
  if (!global.json) {
    PrintLine(JobsTable(jobs));
    return kExitOk;
  }
  for (const JobInfo& job : jobs) PrintLine(JobJsonLine(job));
  return kExitOk;
}

int RunStatus(const GlobalOptions& global, std::optional<JobId> job) {
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  if (!job) {
    Result<std::vector<JobInfo>> jobs = (*client)->Jobs();
    if (!jobs.ok()) return Fail(jobs.status());
    return PrintJobs(global, *jobs);
  }
  Result<JobInfo> info = (*client)->Status(*job);
  if (!info.ok()) return Fail(info.status());
  PrintLine(global.json ? JobJsonLine(*info) : JobHumanText(*info));
  return kExitOk;
}

// `state`: "running", "done" or empty (all).
int RunJobs(const GlobalOptions& global, const std::string& state) {
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  Result<std::vector<JobInfo>> jobs = (*client)->Jobs();
  if (!jobs.ok()) return Fail(jobs.status());
  if (!state.empty()) {
    std::erase_if(*jobs, [&](const JobInfo& job) { return state != JobStateName(job.state); });
  }
  return PrintJobs(global, *jobs);
}

int RunWorkers(const GlobalOptions& global) {
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  Result<std::vector<WorkerInfo>> workers = (*client)->Workers();
  if (!workers.ok()) return Fail(workers.status());
  // Workers mostly share a few uids, and a lookup may ask LDAP: once each.
  std::map<uint32_t, std::optional<std::string>> names;
  const AccountNameOf name_of = [&names](uint32_t uid) {
    auto [it, added] = names.try_emplace(uid);
    if (added) it->second = AccountName(uid);
    return it->second;
  };
  if (!global.json) {
    PrintLine(WorkersTable(*workers, name_of));
    return kExitOk;
  }
  for (const WorkerInfo& worker : *workers) PrintLine(WorkerJsonLine(worker, name_of));
  return kExitOk;
}

int RunTasks(const GlobalOptions& global) {
  Result<std::unique_ptr<Client>> client = Open(global);
  if (!client.ok()) return Fail(client.status());
  Result<TasksReply> tasks = (*client)->Tasks();
  if (!tasks.ok()) return Fail(tasks.status());
  if (global.json) {
    for (const TaskInfo& task : tasks->tasks) PrintLine(TaskJsonLine(task));
  } else {
    PrintLine(TasksTable(tasks->tasks));
  }
  // Plugins that failed to load are worth a word, not a failure: the rest runs.
  for (const std::string& error : tasks->load_errors) PrintError("plugin not loaded: " + error);
  return kExitOk;
}

// Prints one stored log line, if it passes the filters. Lines that do not
// parse are printed as they are: a log reader must never hide anything.
void PrintLogLine(const GlobalOptions& global, const LogsOptions& options,
                  const std::string& line) {
  if (line.empty()) return;
  Result<LogRecord> record = ParseJsonLine(line);
  if (!record.ok()) {
    PrintLine(line);
    return;
  }
  if (options.pid && record->pid != *options.pid) return;
  if (options.job && record->job != options.job) return;
  PrintLine(global.json ? line : FormatHumanLine(*record));
}

int RunLogs(const GlobalOptions& global, const LogsOptions& options) {
  std::string path;
  if (!options.log_dir.empty()) {
    path = options.log_dir + "/jobd.jsonl";
  } else {
    Result<std::unique_ptr<Client>> client = Open(global);
    if (!client.ok()) return Fail(client.status());
    Result<std::string> log_path = (*client)->LogPath();
    if (!log_path.ok()) return Fail(log_path.status());
    path = std::move(*log_path);
  }
  LogTail tail(path);
  std::vector<std::string> lines;
  while (true) {
    lines.clear();
    const Status read = tail.ReadLines(&lines);
    // While following, a missing file is one not yet (re)created.
    if (!read.ok() && !(options.follow && read.code() == StatusCode::kNotFound)) {
      return Fail(read);
    }
    for (const std::string& line : lines) PrintLogLine(global, options, line);
    if (!options.follow) break;
    // TODO(perf): inotify instead of polling; 200 ms is what people expect of tail -f.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  PrintLogLine(global, options, tail.partial());
  return kExitOk;
}

constexpr const char* kHelpHint = "Run with --help for more information.";

// The long option names of `command` ("--ordered").
std::vector<std::string> LongOptions(const CLI::App& command) {
  std::vector<std::string> names;
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
  }
  return names;
}

// A clearer word than CLI11's for the usage errors people make most: no
// command, an unknown one, an unknown option (or an argument that looks like
// one). `free_words` holds, for the commands taking TASK ARG, ITEMs or CMD,
// the words they took. Nothing when CLI11's own message is as good.
std::optional<std::string> ClearerUsageError(
    const CLI::App& app, const std::vector<std::string>& args,
    const std::map<const CLI::App*, const std::vector<std::string>*>& free_words) {
  std::vector<std::string> commands;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    commands.push_back(command->get_name());
  }
  const std::vector<std::string> left = app.remaining();
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  if (parsed.empty()) {
    for (const std::string& word : left) {
      if (!word.empty() && word[0] != '-') return UnknownCommandMessage(word, commands);
    }
    return MissingCommandMessage(commands);
  }
  const auto unknown = std::find_if(left.begin(), left.end(), [](const std::string& word) {
    return word.size() > 1 && word[0] == '-';
  });
  if (unknown == left.end()) return std::nullopt;
  const CLI::App& command = *parsed.front();
  CommandLine line;
  line.command = command.get_name();
  const auto verb = std::find(args.begin(), args.end(), line.command);
  if (verb != args.end()) line.args.assign(verb + 1, args.end());
  if (const auto words = free_words.find(&command); words != free_words.end()) {
    if (!words->second->empty()) line.first_free_word = words->second->front();
  }
  line.options = LongOptions(command);
  for (const std::string& global : LongOptions(app)) line.options.push_back(global);
  return UnknownOptionMessage(line, *unknown);
}

int Main(int argc, char** argv) {
  CLI::App app{"jobctl: submit work to jobd, watch results, read its logs"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may come after the verb too
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "jobctl: " + std::string(e.what()) + "\n" + kHelpHint + "\n";
  });

  GlobalOptions global;
  global.socket = DefaultClientEndpoint();
  app.add_option("--socket", global.socket, "jobd's endpoint (default: $JOBD_SOCKET or the "
                                            "per-user socket)")
      ->capture_default_str();
  app.add_flag("--json", global.json, "machine output: one JSON object per line");
  app.add_option("--curve-server-key", global.curve_server_key,
                 "tcp:// only: jobd's CURVE public key, or a file holding it (jobd's .pub)")
      ->envname("JOBD_CURVE_SERVER_KEY");
  app.add_option("--curve-key-file", global.curve_key_file,
                 "tcp:// only: this client's CURVE key pair file (from jobctl keygen)")
      ->envname("JOBD_CURVE_KEY_FILE");

  CLI::App* ping = app.add_subcommand("ping", "check that jobd answers; print the round trip");
  CLI::App* reload = app.add_subcommand(
      "reload",
      "what SIGHUP does, for this jobd alone: recycle its workers so that they load the "
      "plugins anew, and read the authorised keys again (root, jobd's user, admin group)");

  SubmitOptions map_options;
  CLI::App* map = app.add_subcommand(
      "map",
      "run TASK once per ARG (per N ARGs with -n, N times over with --repeat), stream results "
      "as they end. Ctrl-C cancels the job and prints the rest of its results (exit 1); Ctrl-C "
      "again leaves at once (exit 130)");
  AddSubmitOptions(map, &map_options);
  map->add_flag("--ordered", map_options.ordered, "print in submission order");
  map->add_flag("--detach", map_options.detach,
                "on Ctrl-C, leave the job running instead of cancelling it (exit 130)");

  SubmitOptions submit_options;
  CLI::App* submit = app.add_subcommand("submit", "like map, but print the job id and return");
  AddSubmitOptions(submit, &submit_options);

  SubmitOptions run_options;
  CLI::App* run = app.add_subcommand(
      "run",
      "run one command through jobd: jobctl run [OPTIONS] -- CMD ARG... Its stdout and "
      "stderr come back when it ends; exit 0 when it exited 0, else 1. Ctrl-C cancels it");
  AddSubmitOptions(run, &run_options, /*run=*/true);

  WatchOptions watch_options;
  CLI::App* watch = app.add_subcommand(
      "watch",
      "stream a job's results (those done first). Ctrl-C stops watching and leaves the job "
      "running (exit 130); use cancel to stop it");
  watch->add_option("JOB", watch_options.job, "job id")->required();
  CLI::Option* watch_ordered =
      watch->add_flag("--ordered", watch_options.ordered, "print in submission order");
  watch->add_option("--from-seq", watch_options.from_seq,
                    "resume from the result with this seq (results are numbered from 0 in "
                    "completion order, \"seq\" in --json lines): after a stopped watch whose "
                    "last line had seq N-1, --from-seq N prints the rest")
      ->excludes(watch_ordered);

  WatchOptions results_options;
  CLI::App* results = app.add_subcommand(
      "results",
      "print a job's results as they stand now and exit: 0 when the job is done and every "
      "task ended ok, 1 otherwise (also while it is still running)");
  results->add_option("JOB", results_options.job, "job id")->required();
  results->add_flag("--ordered", results_options.ordered, "print in submission order");

  JobId status_job = 0;
  CLI::App* status =
      app.add_subcommand("status", "a job's state and counts (all jobs without JOB)");
  CLI::Option* status_job_option = status->add_option("JOB", status_job, "job id");

  JobId cancel_job = 0;
  CLI::App* cancel =
      app.add_subcommand("cancel", "cancel a job's queued and running tasks (exit 0 also when "
                                   "it had already finished)");
  cancel->add_option("JOB", cancel_job, "job id")->required();

  std::string jobs_state;
  CLI::App* jobs = app.add_subcommand("jobs", "recent jobs");
  jobs->add_option("--state", jobs_state, "only jobs in this state")
      ->check(CLI::IsMember({"running", "done"}));
  CLI::App* workers = app.add_subcommand("workers", "the worker processes");
  CLI::App* tasks = app.add_subcommand(
      "tasks", "the tasks the workers can run (built-in and plugins), and plugins that failed");

  LogsOptions logs_options;
  int32_t log_pid = 0;
  uint64_t log_job = 0;
  CLI::App* logs = app.add_subcommand("logs", "print jobd's structured log");
  logs->add_flag("-f,--follow", logs_options.follow, "keep printing new records");
  CLI::Option* log_pid_option = logs->add_option("--pid", log_pid, "only records of this PID");
  CLI::Option* log_job_option = logs->add_option("--job", log_job, "only records of this job");
  logs->add_option("--log-dir", logs_options.log_dir,
                   "read DIR/jobd.jsonl instead of asking jobd where it is");

  std::string keygen_prefix;
  CLI::App* keygen = app.add_subcommand(
      "keygen",
      "make a CURVE key pair for a tcp:// endpoint (jobd's --curve-secret-key, a client's "
      "--curve-key-file): the key pair file on stdout, or with --out files");
  keygen->add_option("--out", keygen_prefix,
                     "write PREFIX.key (the pair, mode 0600) and PREFIX.pub (the public key, "
                     "for jobd's --curve-authorized-keys or --curve-server-key); print the "
                     "public key");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {  // not --help
      const std::map<const CLI::App*, const std::vector<std::string>*> free_words = {
          {map, &map_options.words}, {submit, &submit_options.words}, {run, &run_options.words}};
      const std::optional<std::string> clearer =
          ClearerUsageError(app, std::vector<std::string>(argv + 1, argv + argc), free_words);
      if (clearer) {
        PrintError(*clearer);
        std::fprintf(stderr, "%s\n", kHelpHint);
        return kExitUsage;
      }
    }
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (keygen->parsed()) return RunKeygen(keygen_prefix);
  if (Status s = ValidateEndpoint(global.socket); !s.ok()) return Fail(s);

  if (ping->parsed()) return RunPing(global);
  if (reload->parsed()) return RunReload(global);
  if (map->parsed()) return RunMap(global, map_options);
  if (submit->parsed()) return RunSubmit(global, submit_options);
  if (run->parsed()) return RunCommand(global, run_options);
  if (watch->parsed()) return RunWatch(global, watch_options, /*follow=*/true);
  if (results->parsed()) return RunWatch(global, results_options, /*follow=*/false);
  if (status->parsed()) {
    return RunStatus(global, status_job_option->count() > 0 ? std::optional<JobId>(status_job)
                                                            : std::nullopt);
  }
  if (cancel->parsed()) return RunCancel(global, cancel_job);
  if (jobs->parsed()) return RunJobs(global, jobs_state);
  if (workers->parsed()) return RunWorkers(global);
  if (tasks->parsed()) return RunTasks(global);
  if (logs->parsed()) {
    if (log_pid_option->count() > 0) logs_options.pid = log_pid;
    if (log_job_option->count() > 0) logs_options.job = log_job;
    return RunLogs(global, logs_options);
  }
  return kExitUsage;  // unreachable: require_subcommand(1)
}

}  // namespace
}  // namespace jobd

int main(int argc, char** argv) { return jobd::Main(argc, argv); }
