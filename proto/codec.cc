#include "proto/codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <cstring>
#include <memory>
#include <optional>

#include "proto/jobd.capnp.h"

namespace jobd {
namespace {

// ---- framing --------------------------------------------------------------

std::string Serialize(capnp::MessageBuilder& builder) {
  const size_t bytes = capnp::computeSerializedSizeInWords(builder) * sizeof(capnp::word);
  std::string frame(bytes, '\0');
  kj::ArrayOutputStream out(
      kj::arrayPtr(reinterpret_cast<kj::byte*>(frame.data()), frame.size()));
  capnp::writeMessage(out, builder);
  return frame;
}

// Stops a decoder with `message` as the whole of the error's description
// (KJ_FAIL_REQUIRE would prefix it with the expression's text).
[[noreturn]] void Fail(const std::string& message) {
  kj::throwFatalException(
      kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::heapString(message)));
}

// Owns an aligned copy of the frame when the frame itself is not aligned.
class FrameReader {
 public:
  static Result<std::unique_ptr<FrameReader>> Open(std::string_view frame) {
    if (frame.empty()) return Status::InvalidArgument("empty message");
    if (frame.size() > kMaxFrameBytes) {
      return Status::InvalidArgument("message of " + std::to_string(frame.size()) +
                                     " bytes is over the limit of " +
                                     std::to_string(kMaxFrameBytes));
    }
    if (frame.size() % sizeof(capnp::word) != 0) {
      return Status::InvalidArgument("truncated message (" + std::to_string(frame.size()) +
                                     " bytes is not a whole number of words)");
    }
    auto reader = std::unique_ptr<FrameReader>(new FrameReader());
    const size_t words = frame.size() / sizeof(capnp::word);
    reader->words_ = words;
    kj::ArrayPtr<const capnp::word> view;
    if (reinterpret_cast<uintptr_t>(frame.data()) % alignof(capnp::word) == 0) {
      view = kj::arrayPtr(reinterpret_cast<const capnp::word*>(frame.data()), words);
    } else {
      reader->copy_ = kj::heapArray<capnp::word>(words);
      std::memcpy(reader->copy_.begin(), frame.data(), frame.size());
      view = reader->copy_.asPtr();
    }
    capnp::ReaderOptions options;
    // Bound the work a message can cause to a small multiple of its size.
    options.traversalLimitInWords = words * 4 + 1024;
    options.nestingLimit = 16;
    try {
      reader->message_.emplace(view, options);
    } catch (const kj::Exception& e) {
      return Status::InvalidArgument("malformed message: " +
                                     std::string(e.getDescription().cStr()));
    }
    return reader;
  }

  template <typename T>
  typename T::Reader Root() {
    return message_->getRoot<T>();
  }

  // A list of structs whose elements are empty (allowed: an older sender's
  // schema) costs no bytes per element on the wire, so it could claim millions
  // of elements in a small frame, each becoming a vector entry here. A real
  // element takes at least one word: no list may claim more than the frame has.
  template <typename List>
  List Bounded(List list, const char* what) const {
    if (list.size() > words_) {
      Fail(std::string(what) + " claims " + std::to_string(list.size()) +
           " elements in a message of " + std::to_string(words_) + " words");
    }
    return list;
  }

 private:
  FrameReader() = default;
  size_t words_ = 0;
  kj::Array<capnp::word> copy_;
  std::optional<capnp::FlatArrayMessageReader> message_;
};

// Runs a decoder body, turning Cap'n Proto's exceptions into a Status.
template <typename T, typename Fn>
Result<T> Decode(std::string_view frame, Fn&& body) {
  auto reader = FrameReader::Open(frame);
  if (!reader.ok()) return reader.status();
  try {
    return body(**reader);
  } catch (const kj::Exception& e) {
    return Status::InvalidArgument("malformed message: " +
                                   std::string(e.getDescription().cStr()));
  }
}

std::string ToString(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

// All of `s`, NUL bytes included: passed as a std::string, a setter would
// take it as a C string and stop at the first NUL (binary task output, or a
// task name "exec\0x" that jobd and the worker would read differently).
capnp::Text::Reader AsText(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }

// ---- enums ----------------------------------------------------------------

template <typename To, typename From>
Result<To> ConvertEnum(From value, To max, const char* what) {
  const auto raw = static_cast<uint16_t>(value);
  if (raw > static_cast<uint16_t>(max)) {
    return Status::InvalidArgument(std::string("unknown ") + what + " " + std::to_string(raw));
  }
  return static_cast<To>(raw);
}

template <typename T>
T Must(Result<T> result) {
  if (!result.ok()) Fail(result.status().message());
  return *result;
}

// ---- shared pieces --------------------------------------------------------

void WriteArgs(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& args) {
  for (unsigned i = 0; i < args.size(); ++i) out.set(i, AsText(args[i]));
}

std::vector<std::string> ReadArgs(capnp::List<capnp::Text>::Reader in) {
  std::vector<std::string> args;
  args.reserve(in.size());
  for (auto a : in) args.push_back(ToString(a));
  return args;
}

void WriteCommandOptions(wire::CommandOptions::Builder out, const CommandOptions& o) {
  out.setCwd(AsText(o.cwd));
  WriteArgs(out.initEnv(static_cast<unsigned>(o.env.size())), o.env);
  out.setStdinPath(AsText(o.stdin_path));
  out.setMaxOutput(o.max_output);
  out.setMemoryLimit(o.memory_limit);
  out.setCpuLimitUs(o.cpu_limit_us);
}

CommandOptions ReadCommandOptions(wire::CommandOptions::Reader in) {
  return CommandOptions{ToString(in.getCwd()), ReadArgs(in.getEnv()), ToString(in.getStdinPath()),
                        in.getMaxOutput(),     in.getMemoryLimit(),   in.getCpuLimitUs()};
}

void WriteCommandEnd(wire::CommandEnd::Builder out, const CommandEnd& e) {
  out.setExitCode(e.exit_code);
  out.setSignal(e.signal);
  out.setCpuUs(e.cpu_us);
  out.setMaxRssBytes(e.max_rss_bytes);
  out.setStdoutTruncated(e.stdout_truncated);
  out.setStderrTruncated(e.stderr_truncated);
}

CommandEnd ReadCommandEnd(wire::CommandEnd::Reader in) {
  return CommandEnd{in.getExitCode(),    in.getSignal(),          in.getCpuUs(),
                    in.getMaxRssBytes(), in.getStdoutTruncated(), in.getStderrTruncated()};
}

void WriteResult(wire::TaskResult::Builder out, const TaskResult& r) {
  out.setJob(r.job);
  out.setIndex(r.index);
  out.setStatus(static_cast<wire::TaskStatus>(r.status));
  out.setResult(AsText(r.result));
  out.setError(AsText(r.error));
  out.setPid(r.pid);
  out.setAttempts(r.attempts);
  out.setDurationUs(r.duration_us);
  out.setSeq(r.seq);
  if (r.command) WriteCommandEnd(out.initCommand(), *r.command);
  out.setUid(r.uid.value_or(kNoUid));
}

TaskResult ReadResult(wire::TaskResult::Reader in) {
  TaskResult r;
  r.job = in.getJob();
  r.index = in.getIndex();
  r.status = Must(ConvertEnum(in.getStatus(), TaskStatus::kCancelled, "task status"));
  r.result = ToString(in.getResult());
  r.error = ToString(in.getError());
  r.pid = in.getPid();
  r.attempts = in.getAttempts();
  r.duration_us = in.getDurationUs();
  r.seq = in.getSeq();
  if (in.hasCommand()) r.command = ReadCommandEnd(in.getCommand());
  if (in.getUid() != kNoUid) r.uid = in.getUid();
  return r;
}

void WriteJobInfo(wire::JobInfo::Builder out, const JobInfo& j) {
  out.setJob(j.job);
  out.setState(static_cast<wire::JobState>(j.state));
  out.setTotal(j.total);
  out.setQueued(j.queued);
  out.setRunning(j.running);
  out.setOk(j.ok);
  out.setFailed(j.failed);
  out.setCrashed(j.crashed);
  out.setTimeout(j.timeout);
  out.setCancelled(j.cancelled);
  out.setSubmittedUnixUs(j.submitted_unix_us);
  out.setTask(AsText(j.task));
}

JobInfo ReadJobInfo(wire::JobInfo::Reader in) {
  JobInfo j;
  j.job = in.getJob();
  j.state = Must(ConvertEnum(in.getState(), JobState::kDone, "job state"));
  j.total = in.getTotal();
  j.queued = in.getQueued();
  j.running = in.getRunning();
  j.ok = in.getOk();
  j.failed = in.getFailed();
  j.crashed = in.getCrashed();
  j.timeout = in.getTimeout();
  j.cancelled = in.getCancelled();
  j.submitted_unix_us = in.getSubmittedUnixUs();
  j.task = ToString(in.getTask());
  return j;
}

void WriteTaskInfos(capnp::List<wire::TaskInfo>::Builder out, const std::vector<TaskInfo>& tasks) {
  for (unsigned i = 0; i < tasks.size(); ++i) {
    out[i].setName(AsText(tasks[i].name));
    out[i].setKind(AsText(tasks[i].kind));
    out[i].setFile(AsText(tasks[i].file));
    out[i].setDescription(AsText(tasks[i].description));
    out[i].setRunsCode(tasks[i].runs_code);
  }
}

std::vector<TaskInfo> ReadTaskInfos(capnp::List<wire::TaskInfo>::Reader in) {
  std::vector<TaskInfo> tasks;
  for (auto t : in) {
    tasks.push_back(TaskInfo{ToString(t.getName()), ToString(t.getKind()), ToString(t.getFile()),
                             ToString(t.getDescription()), t.getRunsCode()});
  }
  return tasks;
}

template <typename... Ts>
struct Overloaded : Ts... { using Ts::operator()...; };
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

// ---- client -> coordinator ------------------------------------------------

std::string EncodeRequest(const Request& request) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<wire::Request>();
  root.setVersion(request.version);
  root.setRequestId(request.request_id);
  std::visit(Overloaded{
                 [&](const PingRequest&) { root.setPing(); },
                 [&](const SubmitRequest& s) {
                   auto out = root.initSubmit();
                   out.setDefaultTask(AsText(s.default_task));
                   auto tasks = out.initTasks(static_cast<unsigned>(s.tasks.size()));
                   for (unsigned i = 0; i < s.tasks.size(); ++i) {
                     if (!s.tasks[i].name.empty()) tasks[i].setName(AsText(s.tasks[i].name));
                     WriteArgs(tasks[i].initArgs(static_cast<unsigned>(s.tasks[i].args.size())),
                               s.tasks[i].args);
                   }
                   out.setWatch(s.watch);
                   out.setRetries(s.retries);
                   out.setTimeoutUs(s.timeout_us);
                   out.setPriority(s.priority);
                   out.setRetryTimeouts(s.retry_timeouts);
                   out.setNoStore(s.no_store);
                   out.setWindow(s.window);
                   if (s.command) WriteCommandOptions(out.initCommand(), *s.command);
                 },
                 [&](const WatchRequest& w) {
                   auto out = root.initWatch();
                   out.setJob(w.job);
                   out.setFromSeq(w.from_seq);
                   out.setWindow(w.window);
                   out.setFollow(w.follow);
                 },
                 [&](const StatusRequest& s) { root.setStatus(s.job); },
                 [&](const JobsRequest&) { root.setJobs(); },
                 [&](const WorkersRequest&) { root.setWorkers(); },
                 [&](const LogsRequest&) { root.setLogs(); },
                 [&](const CancelRequest& c) { root.setCancel(c.job); },
                 [&](const AckRequest& a) { root.setAck(a.consumed); },
                 [&](const TasksRequest&) { root.setTasks(); },
                 [&](const ReloadRequest&) { root.setReload(); },
             },
             request.body);
  return Serialize(builder);
}

Result<Request> DecodeRequest(std::string_view frame) {
  return Decode<Request>(frame, [](FrameReader& reader) -> Result<Request> {
    auto in = reader.Root<wire::Request>();
    Request request;
    request.version = in.getVersion();
    request.request_id = in.getRequestId();
    if (request.version != kProtocolVersion) return request;
    switch (in.which()) {
      case wire::Request::PING: request.body = PingRequest{}; break;
      case wire::Request::SUBMIT: {
        auto s = in.getSubmit();
        SubmitRequest submit;
        submit.default_task = ToString(s.getDefaultTask());
        auto tasks = reader.Bounded(s.getTasks(), "tasks");
        submit.tasks.reserve(tasks.size());
        for (auto t : tasks) {
          submit.tasks.push_back(TaskInput{ToString(t.getName()), ReadArgs(t.getArgs())});
        }
        submit.watch = s.getWatch();
        submit.retries = s.getRetries();
        submit.timeout_us = s.getTimeoutUs();
        submit.priority = s.getPriority();
        submit.retry_timeouts = s.getRetryTimeouts();
        submit.no_store = s.getNoStore();
        submit.window = s.getWindow();
        if (s.hasCommand()) submit.command = ReadCommandOptions(s.getCommand());
        request.body = std::move(submit);
        break;
      }
      case wire::Request::WATCH: {
        auto w = in.getWatch();
        request.body = WatchRequest{w.getJob(), w.getFromSeq(), w.getWindow(), w.getFollow()};
        break;
      }
      case wire::Request::STATUS: request.body = StatusRequest{in.getStatus()}; break;
      case wire::Request::JOBS: request.body = JobsRequest{}; break;
      case wire::Request::WORKERS: request.body = WorkersRequest{}; break;
      case wire::Request::LOGS: request.body = LogsRequest{}; break;
      case wire::Request::CANCEL: request.body = CancelRequest{in.getCancel()}; break;
      case wire::Request::ACK: request.body = AckRequest{in.getAck()}; break;
      case wire::Request::TASKS: request.body = TasksRequest{}; break;
      case wire::Request::RELOAD: request.body = ReloadRequest{}; break;
      default:
        return Status::InvalidArgument("unknown request type " +
                                       std::to_string(static_cast<unsigned>(in.which())));
    }
    return request;
  });
}

// ---- coordinator -> client ------------------------------------------------

std::string EncodeReply(const Reply& reply) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<wire::Reply>();
  root.setVersion(reply.version);
  root.setRequestId(reply.request_id);
  std::visit(Overloaded{
                 [&](const ErrorReply& e) {
                   auto out = root.initError();
                   out.setCode(static_cast<wire::ErrorCode>(e.code));
                   out.setMessage(AsText(e.message));
                 },
                 [&](const PongReply& p) {
                   auto out = root.initPong();
                   out.setPid(p.pid);
                   out.setWorkers(p.workers);
                   out.setQueued(p.queued);
                   out.setRunning(p.running);
                   out.setMaxMessageSize(p.max_message_size);
                 },
                 [&](const AcceptedReply& a) { WriteJobInfo(root.initAccepted(), a.job); },
                 [&](const ResultBatch& b) {
                   auto out = root.initResults();
                   out.setJob(b.job);
                   auto list = out.initResults(static_cast<unsigned>(b.results.size()));
                   for (unsigned i = 0; i < b.results.size(); ++i) WriteResult(list[i], b.results[i]);
                   out.setDone(b.done);
                 },
                 [&](const StatusReply& s) {
                   auto list = root.initStatus(static_cast<unsigned>(s.jobs.size()));
                   for (unsigned i = 0; i < s.jobs.size(); ++i) WriteJobInfo(list[i], s.jobs[i]);
                 },
                 [&](const WorkersReply& w) {
                   auto list = root.initWorkers(static_cast<unsigned>(w.workers.size()));
                   for (unsigned i = 0; i < w.workers.size(); ++i) {
                     const WorkerInfo& info = w.workers[i];
                     list[i].setSlot(info.slot);
                     list[i].setPid(info.pid);
                     list[i].setState(static_cast<wire::WorkerState>(info.state));
                     list[i].setJob(info.job);
                     list[i].setTask(info.task);
                     list[i].setTasksDone(info.tasks_done);
                     list[i].setRssBytes(info.rss_bytes);
                     list[i].setUptimeUs(info.uptime_us);
                     list[i].setUid(info.uid.value_or(kNoUid));
                   }
                 },
                 [&](const LogsReply& l) { root.initLogs().setPath(AsText(l.path)); },
                 [&](const TasksReply& t) {
                   auto out = root.initTasks();
                   WriteTaskInfos(out.initTasks(static_cast<unsigned>(t.tasks.size())), t.tasks);
                   WriteArgs(out.initLoadErrors(static_cast<unsigned>(t.load_errors.size())),
                             t.load_errors);
                 },
                 [&](const CancelReply& c) {
                   auto out = root.initCancelled();
                   WriteJobInfo(out.initJob(), c.job);
                   out.setCancelledQueued(c.cancelled_queued);
                   out.setStoppedRunning(c.stopped_running);
                   out.setAlreadyFinished(c.already_finished);
                 },
             },
             reply.body);
  return Serialize(builder);
}

Result<Reply> DecodeReply(std::string_view frame) {
  return Decode<Reply>(frame, [](FrameReader& reader) -> Result<Reply> {
    auto in = reader.Root<wire::Reply>();
    Reply reply;
    reply.version = in.getVersion();
    reply.request_id = in.getRequestId();
    // An error is readable whatever the version: it may be about the version.
    if (reply.version != kProtocolVersion && in.which() != wire::Reply::ERROR) return reply;
    switch (in.which()) {
      case wire::Reply::ERROR: {
        auto e = in.getError();
        reply.body = ErrorReply{
            Must(ConvertEnum(e.getCode(), ErrorCode::kPermissionDenied, "error code")),
            ToString(e.getMessage())};
        break;
      }
      case wire::Reply::PONG: {
        auto p = in.getPong();
        reply.body = PongReply{p.getPid(), p.getWorkers(), p.getQueued(), p.getRunning(),
                               p.getMaxMessageSize()};
        break;
      }
      case wire::Reply::ACCEPTED: reply.body = AcceptedReply{ReadJobInfo(in.getAccepted())}; break;
      case wire::Reply::RESULTS: {
        auto b = in.getResults();
        ResultBatch batch;
        batch.job = b.getJob();
        auto results = reader.Bounded(b.getResults(), "results");
        batch.results.reserve(results.size());
        for (auto r : results) batch.results.push_back(ReadResult(r));
        batch.done = b.getDone();
        reply.body = std::move(batch);
        break;
      }
      case wire::Reply::STATUS: {
        StatusReply status;
        for (auto j : reader.Bounded(in.getStatus(), "status")) {
          status.jobs.push_back(ReadJobInfo(j));
        }
        reply.body = std::move(status);
        break;
      }
      case wire::Reply::WORKERS: {
        WorkersReply workers;
        for (auto w : reader.Bounded(in.getWorkers(), "workers")) {
          WorkerInfo info;
          info.slot = w.getSlot();
          info.pid = w.getPid();
          info.state = Must(ConvertEnum(w.getState(), WorkerState::kVacant, "worker state"));
          info.job = w.getJob();
          info.task = w.getTask();
          info.tasks_done = w.getTasksDone();
          info.rss_bytes = w.getRssBytes();
          info.uptime_us = w.getUptimeUs();
          if (w.getUid() != kNoUid) info.uid = w.getUid();
          workers.workers.push_back(info);
        }
        reply.body = std::move(workers);
        break;
      }
      case wire::Reply::LOGS: reply.body = LogsReply{ToString(in.getLogs().getPath())}; break;
      case wire::Reply::TASKS: {
        auto t = in.getTasks();
        reply.body = TasksReply{ReadTaskInfos(reader.Bounded(t.getTasks(), "tasks")),
                                ReadArgs(t.getLoadErrors())};
        break;
      }
      case wire::Reply::CANCELLED: {
        auto c = in.getCancelled();
        reply.body = CancelReply{ReadJobInfo(c.getJob()), c.getCancelledQueued(),
                                 c.getStoppedRunning(), c.getAlreadyFinished()};
        break;
      }
      default:
        return Status::InvalidArgument("unknown reply type " +
                                       std::to_string(static_cast<unsigned>(in.which())));
    }
    return reply;
  });
}

// ---- coordinator -> worker ------------------------------------------------

std::string EncodeToWorker(const ToWorker& message) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<wire::ToWorker>();
  root.setVersion(message.version);
  std::visit(Overloaded{
                 [&](const RunTasks& run) {
                   auto list = root.initRun(static_cast<unsigned>(run.tasks.size()));
                   for (unsigned i = 0; i < run.tasks.size(); ++i) {
                     const Assignment& a = run.tasks[i];
                     list[i].setJob(a.job);
                     list[i].setIndex(a.index);
                     list[i].setAttempt(a.attempt);
                     list[i].setName(AsText(a.name));
                     WriteArgs(list[i].initArgs(static_cast<unsigned>(a.args.size())), a.args);
                     if (a.command) WriteCommandOptions(list[i].initCommand(), *a.command);
                   }
                 },
                 [&](const ShutdownWorker&) { root.setShutdown(); },
                 [&](const Heartbeat&) { root.setHeartbeat(); },
                 [&](const ForgetTasks& forget) { root.initForget().setJob(forget.job); },
             },
             message.body);
  return Serialize(builder);
}

Result<ToWorker> DecodeToWorker(std::string_view frame) {
  return Decode<ToWorker>(frame, [](FrameReader& reader) -> Result<ToWorker> {
    auto in = reader.Root<wire::ToWorker>();
    ToWorker message;
    message.version = in.getVersion();
    if (message.version != kProtocolVersion) return message;
    switch (in.which()) {
      case wire::ToWorker::RUN: {
        RunTasks run;
        auto tasks = reader.Bounded(in.getRun(), "run");
        run.tasks.reserve(tasks.size());
        for (auto a : tasks) {
          Assignment& task = run.tasks.emplace_back(
              Assignment{a.getJob(), a.getIndex(), a.getAttempt(), ToString(a.getName()),
                         ReadArgs(a.getArgs()), std::nullopt});
          if (a.hasCommand()) task.command = ReadCommandOptions(a.getCommand());
        }
        message.body = std::move(run);
        break;
      }
      case wire::ToWorker::SHUTDOWN: message.body = ShutdownWorker{}; break;
      case wire::ToWorker::HEARTBEAT: message.body = Heartbeat{}; break;
      case wire::ToWorker::FORGET: message.body = ForgetTasks{in.getForget().getJob()}; break;
      default:
        return Status::InvalidArgument("unknown coordinator message type " +
                                       std::to_string(static_cast<unsigned>(in.which())));
    }
    return message;
  });
}

// ---- worker -> coordinator ------------------------------------------------

std::string EncodeFromWorker(const FromWorker& message) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<wire::FromWorker>();
  root.setVersion(message.version);
  std::visit(Overloaded{
                 [&](const WorkerReady& ready) {
                   auto out = root.initReady();
                   out.setPid(ready.pid);
                   out.setSlot(ready.slot);
                   out.setCredit(ready.credit);
                   WriteTaskInfos(out.initTasks(static_cast<unsigned>(ready.tasks.size())),
                                  ready.tasks);
                   WriteArgs(out.initLoadErrors(static_cast<unsigned>(ready.load_errors.size())),
                             ready.load_errors);
                 },
                 [&](const WorkerReport& report) {
                   auto out = root.initReport();
                   auto outcomes = out.initOutcomes(static_cast<unsigned>(report.outcomes.size()));
                   for (unsigned i = 0; i < report.outcomes.size(); ++i) {
                     const Outcome& o = report.outcomes[i];
                     outcomes[i].setJob(o.job);
                     outcomes[i].setIndex(o.index);
                     outcomes[i].setAttempt(o.attempt);
                     outcomes[i].setOk(o.ok);
                     outcomes[i].setValue(AsText(o.value));
                     outcomes[i].setError(AsText(o.error));
                     outcomes[i].setDurationUs(o.duration_us);
                     if (o.command) WriteCommandEnd(outcomes[i].initCommand(), *o.command);
                   }
                   auto started = out.initStarted(static_cast<unsigned>(report.started.size()));
                   for (unsigned i = 0; i < report.started.size(); ++i) {
                     const CommandStarted& c = report.started[i];
                     started[i].setJob(c.job);
                     started[i].setIndex(c.index);
                     started[i].setAttempt(c.attempt);
                     started[i].setPgid(c.pgid);
                   }
                   auto dropped = out.initDropped(static_cast<unsigned>(report.dropped.size()));
                   for (unsigned i = 0; i < report.dropped.size(); ++i) {
                     const DroppedTask& d = report.dropped[i];
                     dropped[i].setJob(d.job);
                     dropped[i].setIndex(d.index);
                     dropped[i].setAttempt(d.attempt);
                   }
                   auto logs = out.initLogs(static_cast<unsigned>(report.logs.size()));
                   for (unsigned i = 0; i < report.logs.size(); ++i) {
                     const LogRecord& r = report.logs[i];
                     logs[i].setTsUnixUs(r.ts_unix_us);
                     logs[i].setLevel(static_cast<wire::LogLevel>(r.level));
                     logs[i].setMsg(AsText(r.msg));
                     logs[i].setHasJob(r.job.has_value());
                     logs[i].setJob(r.job.value_or(0));
                     logs[i].setHasTask(r.task.has_value());
                     logs[i].setTask(r.task.value_or(0));
                   }
                   out.setRssBytes(report.rss_bytes);
                 },
                 [&](const Heartbeat&) { root.setHeartbeat(); },
             },
             message.body);
  return Serialize(builder);
}

Result<FromWorker> DecodeFromWorker(std::string_view frame) {
  return Decode<FromWorker>(frame, [](FrameReader& reader) -> Result<FromWorker> {
    auto in = reader.Root<wire::FromWorker>();
    FromWorker message;
    message.version = in.getVersion();
    if (message.version != kProtocolVersion) return message;
    switch (in.which()) {
      case wire::FromWorker::READY: {
        auto r = in.getReady();
        message.body = WorkerReady{r.getPid(), r.getSlot(), r.getCredit(),
                                   ReadTaskInfos(reader.Bounded(r.getTasks(), "tasks")),
                                   ReadArgs(r.getLoadErrors())};
        break;
      }
      case wire::FromWorker::REPORT: {
        auto r = in.getReport();
        WorkerReport report;
        auto outcomes = reader.Bounded(r.getOutcomes(), "outcomes");
        report.outcomes.reserve(outcomes.size());
        for (auto o : outcomes) {
          Outcome& outcome = report.outcomes.emplace_back(
              Outcome{o.getJob(), o.getIndex(), o.getAttempt(), o.getOk(), ToString(o.getValue()),
                      ToString(o.getError()), o.getDurationUs(), std::nullopt});
          if (o.hasCommand()) outcome.command = ReadCommandEnd(o.getCommand());
        }
        for (auto c : reader.Bounded(r.getStarted(), "started")) {
          report.started.push_back(
              CommandStarted{c.getJob(), c.getIndex(), c.getAttempt(), c.getPgid()});
        }
        for (auto d : reader.Bounded(r.getDropped(), "dropped")) {
          report.dropped.push_back(DroppedTask{d.getJob(), d.getIndex(), d.getAttempt()});
        }
        for (auto l : reader.Bounded(r.getLogs(), "logs")) {
          LogRecord record;
          record.ts_unix_us = l.getTsUnixUs();
          record.level = Must(ConvertEnum(l.getLevel(), LogLevel::kCritical, "log level"));
          record.msg = ToString(l.getMsg());
          if (l.getHasJob()) record.job = l.getJob();
          if (l.getHasTask()) record.task = l.getTask();
          report.logs.push_back(std::move(record));
        }
        report.rss_bytes = r.getRssBytes();
        message.body = std::move(report);
        break;
      }
      case wire::FromWorker::HEARTBEAT: message.body = Heartbeat{}; break;
      default:
        return Status::InvalidArgument("unknown worker message type " +
                                       std::to_string(static_cast<unsigned>(in.which())));
    }
    return message;
  });
}

// ---- names ----------------------------------------------------------------

const char* TaskStatusName(TaskStatus status) {
  switch (status) {
    case TaskStatus::kOk: return "ok";
    case TaskStatus::kFailed: return "failed";
    case TaskStatus::kCrashed: return "crashed";
    case TaskStatus::kTimeout: return "timeout";
    case TaskStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

const char* WorkerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::kStarting: return "starting";
    case WorkerState::kIdle: return "idle";
    case WorkerState::kBusy: return "busy";
    case WorkerState::kBackoff: return "backoff";
    case WorkerState::kStopping: return "stopping";
    case WorkerState::kRetiring: return "retiring";
    case WorkerState::kLost: return "lost";
    case WorkerState::kVacant: return "vacant";
  }
  return "unknown";
}

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
  }
  return "unknown";
}

}  // namespace jobd
