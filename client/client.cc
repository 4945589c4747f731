#include "client/client.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>

#include <fmt/format.h>

#include "proto/codec.h"
#include "util/endpoints.h"
#include "util/unique_fd.h"

namespace jobd {
namespace {

using SteadyTime = std::chrono::steady_clock;

Status FromErrorReply(const ErrorReply& error) {
  std::string message = error.message.empty() ? "jobd reported an error" : error.message;
  switch (error.code) {
    case ErrorCode::kUnknownJob:
      return Status::NotFound(std::move(message));
    case ErrorCode::kBadRequest:
    case ErrorCode::kVersionMismatch:
      return Status::InvalidArgument(std::move(message));
    case ErrorCode::kShuttingDown:
    case ErrorCode::kQueueFull:
      return Status::Unavailable(std::move(message));
    case ErrorCode::kPermissionDenied:
      return Status::PermissionDenied(std::move(message));
    case ErrorCode::kInternal:
      break;
  }
  return Status::Failed(std::move(message));
}

Status Unexpected(const char* what) {
  return Status::Failed(std::string("unexpected reply from jobd to ") + what);
}

std::string MillisText(Millis ms) { return std::to_string(ms.count()) + " ms"; }

std::string UserName(uid_t uid) {
  const passwd* user = ::getpwuid(uid);
  return user != nullptr ? user->pw_name : std::to_string(uid);
}

std::string GroupName(gid_t gid) {
  const group* entry = ::getgrgid(gid);
  return entry != nullptr ? entry->gr_name : std::to_string(gid);
}

// A socket file nobody listens on: the kernel refuses a connection at once,
// where ZeroMQ would retry in silence until the timeout.
bool NobodyListensOn(const std::string& path) {
  sockaddr_un addr = {};
  if (path.size() >= sizeof addr.sun_path) return false;  // too long to try; ZeroMQ will tell
  // Non-blocking: a full backlog says EAGAIN instead of making us wait.
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
         errno == ECONNREFUSED;
}

// Whether this process may connect to jobd's socket file. A missing file
// means no daemon; a file (or directory) whose permissions keep this user
// out makes the kernel refuse, which ZeroMQ would only retry, silently,
// until the timeout: say so at once instead.
Status CheckSocketFile(const std::string& endpoint, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == EACCES) {
      return Status::Unavailable("permission denied: this user may not reach " + path +
                                 " (a directory on the way keeps it out), so it may not use "
                                 "jobd at " + endpoint);
    }
    return Status::Unavailable("no jobd at " + endpoint +
                               " (no such socket file; is jobd running? set --socket or "
                               "JOBD_SOCKET)");
  }
  if (::faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) != 0 && errno == EACCES) {
    const std::string who =
        st.st_uid == 0 ? "root and members of group " + GroupName(st.st_gid)
                       : "user " + UserName(st.st_uid) + ", members of group " +
                             GroupName(st.st_gid) + " and root";
    return Status::Unavailable(fmt::format(
        "permission denied: jobd's socket {} belongs to {}:{} with mode {:04o}; only {} may "
        "use this jobd",
        path, UserName(st.st_uid), GroupName(st.st_gid), st.st_mode & 07777, who));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status::Unavailable("no jobd at " + endpoint + ": " + path +
                               " is not a socket (set --socket or JOBD_SOCKET)");
  }
  if (NobodyListensOn(path)) {
    return Status::Unavailable("no jobd is listening on " + endpoint + " (the socket file " +
                               path + " is left from one that stopped; is jobd running?)");
  }
  return Status::Ok();
}

// ZeroMQ's monitor event: [16-bit event, 32-bit value][endpoint].
struct MonitorEvent {
  uint16_t event = 0;
  uint32_t value = 0;
};

// 16 random bytes. ZeroMQ keeps ids starting with a zero byte for those it
// makes up itself, so ours never does.
std::string RandomRoutingId() {
  std::random_device device;
  std::uniform_int_distribution<int> byte(0, 255);
  std::string id(16, '\0');
  for (char& c : id) c = static_cast<char>(byte(device));
  if (id[0] == '\0') id[0] = 1;
  return id;
}

}  // namespace

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      routing_id_(RandomRoutingId()),
      context_(1),
      socket_(context_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  // A reply over kMaxFrameBytes gets DecodeReply's clear error; ZeroMQ drops
  // one far over it (and the connection) unread.
  socket_.set(zmq::sockopt::maxmsgsize, TransportCeiling(kMaxFrameBytes));
  // Before connect: the id is sent in the handshake of every connection.
  socket_.set(zmq::sockopt::routing_id, zmq::buffer(routing_id_));
}

Client::~Client() {
  // The monitor stops before its reading end closes.
  if (monitor_) zmq_socket_monitor(socket_.handle(), nullptr, 0);
}

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  if (jobd::Status s = ValidateEndpoint(options.endpoint); !s.ok()) return s;
  if (const std::string path = IpcPath(options.endpoint); !path.empty()) {
    if (jobd::Status s = CheckSocketFile(options.endpoint, path); !s.ok()) return s;
  }
  // Plain-text TCP never carries a task.
  if (IsTcpEndpoint(options.endpoint) && !options.curve) {
    return Status::InvalidArgument(
        "refusing to talk to " + options.endpoint + " without CURVE: give jobd's public key "
        "(--curve-server-key KEY|FILE or JOBD_CURVE_SERVER_KEY) and this client's key pair "
        "(--curve-key-file FILE or JOBD_CURVE_KEY_FILE, from jobctl keygen)");
  }
  std::unique_ptr<Client> client(new Client(options));
  try {
    if (IsTcpEndpoint(options.endpoint)) {
      const CurveClientKeys& curve = *options.curve;
      client->socket_.set(zmq::sockopt::curve_serverkey, curve.server_key);
      client->socket_.set(zmq::sockopt::curve_publickey, curve.keys.public_key);
      client->socket_.set(zmq::sockopt::curve_secretkey, curve.keys.secret_key);
      // A refused key shows only in the socket's events.
      const std::string monitor = "inproc://jobd-client-monitor-" +
                                  std::to_string(reinterpret_cast<uintptr_t>(client.get()));
      if (zmq_socket_monitor(client->socket_.handle(), monitor.c_str(),
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        return Status::Failed("cannot monitor the connection to " + options.endpoint + ": " +
                              zmq_strerror(zmq_errno()));
      }
      client->monitor_ = zmq::socket_t(client->context_, zmq::socket_type::pair);
      client->monitor_.set(zmq::sockopt::linger, 0);
      client->monitor_.connect(monitor);
    }
    client->socket_.connect(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot connect to " + options.endpoint + ": " + e.what());
  }
  Result<RequestId> id = client->Send(PingRequest{});
  if (!id.ok()) return id.status();
  Result<ReplyBody> reply = client->Await(*id, options.connect_timeout);
  if (!reply.ok()) return reply.status();
  if (const auto* error = std::get_if<ErrorReply>(&*reply)) return FromErrorReply(*error);
  const auto* pong = std::get_if<PongReply>(&*reply);
  if (pong == nullptr) return Unexpected("ping");
  if (pong->max_message_size != 0) {
    client->max_request_bytes_ = std::min<uint64_t>(pong->max_message_size, kMaxFrameBytes);
  }
  return client;
}

Result<RequestId> Client::Send(RequestBody body) {
  const RequestId id = next_request_id_++;
  ::jobd::Status sent = SendAs(id, std::move(body));
  if (!sent.ok()) return sent;
  return id;
}

::jobd::Status Client::SendAs(RequestId id, RequestBody body) {
  interrupted_ = false;
  Request request;
  request.request_id = id;
  request.body = std::move(body);
  const std::string frame = EncodeRequest(request);
  if (frame.size() > max_request_bytes_) {
    // jobd would refuse it, or drop it unread without a word: say so here.
    return Status::InvalidArgument(
        "request of " + std::to_string(frame.size()) + " bytes is over jobd's limit of " +
        std::to_string(max_request_bytes_) +
        " bytes (its --max-message-size); split the job into smaller ones");
  }
  try {
    // DEALER queues while connecting, so EAGAIN means the queue is full:
    // the daemon is not reading.
    if (!socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
      return Status::Unavailable("cannot send to jobd at " + options_.endpoint +
                                 " (not reading)");
    }
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot send to jobd at " + options_.endpoint + ": " + e.what());
  }
  return Status::Ok();
}

Result<ReplyBody> Client::Await(RequestId id, std::optional<Millis> hard_limit,
                                const std::function<void()>& on_silence) {
  interrupted_ = false;
  if (id != 0 && id == stream_id_ && !stream_backlog_.empty()) {
    ReplyBody body = std::move(stream_backlog_.front());
    stream_backlog_.pop_front();
    return body;
  }
  const Millis liveness = options_.liveness_timeout;
  const SteadyTime::time_point start = SteadyTime::now();
  SteadyTime::time_point last_heard = start;
  bool pinged = false;
  while (true) {
    // Checked before anything else, so that a flag set before the call
    // interrupts it without waiting at all.
    if (interrupt_ != nullptr && interrupt_->load()) {
      interrupted_ = true;
      return Status::Unavailable("interrupted");
    }
    const SteadyTime::time_point now = SteadyTime::now();
    // A hard limit counts from the start: stale replies do not extend it.
    const Millis quiet =
        std::chrono::duration_cast<Millis>(now - (hard_limit ? start : last_heard));
    if (hard_limit && quiet >= *hard_limit) {
      return Status::Unavailable("no answer from jobd at " + options_.endpoint + " within " +
                                 MillisText(*hard_limit));
    }
    if (!hard_limit && quiet >= 2 * liveness) {
      return Status::Unavailable("lost connection to jobd at " + options_.endpoint +
                                 " (no answer within " + MillisText(2 * liveness) + ")");
    }
    if (!hard_limit && !pinged && quiet >= liveness) {
      // Any reply proves the daemon alive; the Pong itself has a stale id.
      if (Result<RequestId> sent = Send(PingRequest{}); !sent.ok()) return sent.status();
      pinged = true;
      if (on_silence) on_silence();
    }
    const Millis deadline = hard_limit ? *hard_limit : (pinged ? 2 * liveness : liveness);
    Millis wait = std::max(Millis(1), deadline - quiet);
    // A signal may be delivered to one of ZeroMQ's threads, so EINTR alone
    // cannot be relied on: look at the flag in slices.
    if (interrupt_ != nullptr) wait = std::min(wait, kInterruptSlice);

    zmq::message_t frame;
    try {
      zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
      const size_t polled = monitor_ ? 2 : 1;
      if (zmq::poll(items, polled, wait) == 0) continue;
      if (polled == 2 && (items[1].revents & ZMQ_POLLIN) != 0) {
        if (::jobd::Status handshake = ReadMonitor(); !handshake.ok()) return handshake;
      }
      if (!socket_.recv(frame, zmq::recv_flags::dontwait)) continue;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status::Unavailable("receive from jobd at " + options_.endpoint + ": " + e.what());
    }
    last_heard = SteadyTime::now();
    pinged = false;

    Result<Reply> reply = DecodeReply(frame.to_string_view());
    if (!reply.ok()) {
      return Status::Failed("bad reply from jobd at " + options_.endpoint + ": " +
                            reply.status().message());
    }
    // A daemon of another version may not echo our id; its error explains.
    if (reply->version != kProtocolVersion) {
      if (const auto* error = std::get_if<ErrorReply>(&reply->body)) {
        return Status::InvalidArgument(error->message);
      }
      return Status::InvalidArgument("jobd speaks protocol version " +
                                     std::to_string(reply->version) + ", jobctl speaks " +
                                     std::to_string(kProtocolVersion));
    }
    // jobd answers a request it could not read (one over its
    // --max-message-size) with request id 0, which no request of ours has.
    if (reply->request_id == 0 && std::holds_alternative<ErrorReply>(reply->body)) {
      return std::move(reply->body);
    }
    if (reply->request_id != id) {
      // The open stream's results, while another call waits: keep them.
      // Anything else is stale: an old stream, a Pong, an interrupted call.
      if (stream_id_ != 0 && reply->request_id == stream_id_) {
        stream_backlog_.push_back(std::move(reply->body));
      }
      continue;
    }
    return std::move(reply->body);
  }
}

::jobd::Status Client::ReadMonitor() {
  try {
    while (true) {
      zmq::message_t first;
      if (!monitor_.recv(first, zmq::recv_flags::dontwait)) return Status::Ok();
      while (monitor_.get(zmq::sockopt::rcvmore)) {
        zmq::message_t rest;
        if (!monitor_.recv(rest, zmq::recv_flags::dontwait)) break;
      }
      MonitorEvent event;
      if (first.size() < sizeof event.event + sizeof event.value) continue;
      std::memcpy(&event.event, first.data<char>(), sizeof event.event);
      std::memcpy(&event.value, first.data<char>() + sizeof event.event, sizeof event.value);
      switch (event.event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
          handshake_succeeded_ = true;
          break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
          return Status::Unavailable(fmt::format(
              "jobd at {} refused this client's CURVE key {} (status {}): jobd lets in only the "
              "public keys in its --curve-authorized-keys",
              options_.endpoint, options_.curve ? options_.curve->keys.public_key : "",
              event.value));
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
          // Later, a jobd going away mid-handshake is only a lost connection.
          if (!handshake_succeeded_) {
            return Status::Unavailable(
                "the CURVE handshake with " + options_.endpoint +
                " failed: is --curve-server-key jobd's public key, and does jobd use CURVE?");
          }
          break;
        default:
          break;
      }
    }
  } catch (const zmq::error_t&) {
    return Status::Ok();
  }
}

Result<ReplyBody> Client::Call(RequestBody body) {
  Result<RequestId> id = Send(std::move(body));
  if (!id.ok()) return id.status();
  Result<ReplyBody> reply = Await(*id);
  if (!reply.ok()) return reply.status();
  if (const auto* error = std::get_if<ErrorReply>(&*reply)) return FromErrorReply(*error);
  return reply;
}

Result<PongReply> Client::Ping(Micros* round_trip) {
  const SteadyTime::time_point start = SteadyTime::now();
  Result<ReplyBody> reply = Call(PingRequest{});
  if (!reply.ok()) return reply.status();
  if (round_trip != nullptr) {
    *round_trip = std::chrono::duration_cast<Micros>(SteadyTime::now() - start);
  }
  if (auto* pong = std::get_if<PongReply>(&*reply)) return *pong;
  return Unexpected("ping");
}

Result<JobInfo> Client::Submit(SubmitRequest request) {
  request.watch = false;
  Result<ReplyBody> reply = Call(std::move(request));
  if (!reply.ok()) return reply.status();
  if (auto* accepted = std::get_if<AcceptedReply>(&*reply)) return accepted->job;
  return Unexpected("submit");
}

Result<std::unique_ptr<ResultStream>> Client::Map(SubmitRequest request, bool ordered) {
  request.watch = true;
  request.window = kStreamWindow;
  return OpenStream(std::move(request), ordered, 0, 0, /*follow=*/true);
}

Result<std::unique_ptr<ResultStream>> Client::Watch(JobId job, bool ordered, uint64_t from_seq,
                                                    bool follow) {
  return OpenStream(WatchRequest{job, from_seq, kStreamWindow, follow}, ordered, job, from_seq,
                    follow);
}

Result<std::unique_ptr<ResultStream>> Client::OpenStream(RequestBody body, bool ordered,
                                                         JobId job, uint64_t from_seq,
                                                         bool follow) {
  Result<RequestId> id = Send(std::move(body));
  if (!id.ok()) return id.status();
  std::unique_ptr<ResultStream> stream(
      new ResultStream(this, *id, ordered, job, from_seq, follow));
  while (true) {
    Result<ReplyBody> reply = Await(*id);
    if (!reply.ok()) return reply.status();
    if (const auto* error = std::get_if<ErrorReply>(&*reply)) return FromErrorReply(*error);
    if (auto* accepted = std::get_if<AcceptedReply>(&*reply)) {
      stream->job_ = std::move(accepted->job);
      if (stream->watch_job_ == 0) stream->watch_job_ = stream->job_.job;
      // Early results had a gap: now the job is known, ask again.
      if (stream->resume_pending_ && !stream->done_) stream->Resume(/*force=*/true);
      return stream;
    }
    // The contract sends AcceptedReply first; keep early results anyway.
    if (auto* batch = std::get_if<ResultBatch>(&*reply)) {
      stream->Take(std::move(*batch));
      continue;
    }
    return Unexpected("submit/watch");
  }
}

Result<JobInfo> Client::Status(JobId job) {
  Result<ReplyBody> reply = Call(StatusRequest{job});
  if (!reply.ok()) return reply.status();
  auto* status = std::get_if<StatusReply>(&*reply);
  if (status == nullptr) return Unexpected("status");
  if (status->jobs.empty()) return Status::NotFound("unknown job " + std::to_string(job));
  return std::move(status->jobs.front());
}

Result<std::vector<JobInfo>> Client::Jobs() {
  Result<ReplyBody> reply = Call(JobsRequest{});
  if (!reply.ok()) return reply.status();
  if (auto* status = std::get_if<StatusReply>(&*reply)) return std::move(status->jobs);
  return Unexpected("jobs");
}

Result<std::vector<WorkerInfo>> Client::Workers() {
  Result<ReplyBody> reply = Call(WorkersRequest{});
  if (!reply.ok()) return reply.status();
  if (auto* workers = std::get_if<WorkersReply>(&*reply)) return std::move(workers->workers);
  return Unexpected("workers");
}

Result<CancelReply> Client::Cancel(JobId job) {
  Result<ReplyBody> reply = Call(CancelRequest{job});
  if (!reply.ok()) return reply.status();
  auto* cancel = std::get_if<CancelReply>(&*reply);
  if (cancel == nullptr) return Unexpected("cancel");
  if (cancel->job.job == 0) cancel->job.job = job;  // so that callers can always name it
  return std::move(*cancel);
}

Result<TasksReply> Client::Tasks() {
  Result<ReplyBody> reply = Call(TasksRequest{});
  if (!reply.ok()) return reply.status();
  if (auto* tasks = std::get_if<TasksReply>(&*reply)) return std::move(*tasks);
  return Unexpected("tasks");
}

Result<PongReply> Client::Reload() {
  Result<ReplyBody> reply = Call(ReloadRequest{});
  if (!reply.ok()) return reply.status();
  if (auto* pong = std::get_if<PongReply>(&*reply)) return *pong;
  return Unexpected("reload");
}

Result<std::string> Client::LogPath() {
  Result<ReplyBody> reply = Call(LogsRequest{});
  if (!reply.ok()) return reply.status();
  if (auto* logs = std::get_if<LogsReply>(&*reply)) return std::move(logs->path);
  return Unexpected("logs");
}

// ---- ResultStream ----------------------------------------------------------

ResultStream::ResultStream(Client* client, RequestId id, bool ordered, JobId job,
                           uint64_t from_seq, bool follow)
    : client_(client),
      id_(id),
      ordered_(ordered),
      follow_(follow),
      watch_job_(job),
      received_(from_seq),
      acked_(from_seq) {
  client_->stream_id_ = id_;
  client_->stream_backlog_.clear();
}

ResultStream::~ResultStream() { Detach(); }

void ResultStream::Detach() {
  if (client_->stream_id_ != id_) return;
  client_->stream_id_ = 0;
  client_->stream_backlog_.clear();
}

void ResultStream::MaybeAck() {
  if (done_ || received_ - acked_ < Client::kStreamWindow / 2) return;
  // Best effort: a lost ack stalls nothing for long, the next one covers it.
  if (client_->SendAs(id_, AckRequest{received_}).ok()) acked_ = received_;
}

void ResultStream::Resume(bool force) {
  if (done_) return;
  if (watch_job_ == 0) {
    resume_pending_ = true;  // sent once the submit is accepted
    return;
  }
  const TimePoint now = std::chrono::steady_clock::now();
  // Results the replaced watcher sent before the daemon read our request
  // may still arrive, gaps and all: one resume answers them all. Should the
  // request itself be lost, a gap a liveness period later asks again.
  if (!force && resuming_since_ && now - *resuming_since_ < client_->options_.liveness_timeout) {
    return;
  }
  // Best effort, like an ack: if it cannot go now, the next gap or silence
  // tries again.
  if (!client_->SendAs(id_, WatchRequest{watch_job_, received_, Client::kStreamWindow, follow_})
           .ok()) {
    return;
  }
  resume_pending_ = false;
  resuming_since_ = now;
  // The daemon counts the new watcher's credit from from_seq.
  acked_ = received_;
  ++resumes_;
}

void ResultStream::Deliver(TaskResult result) {
  if (!ordered_) {
    ready_.push_back(std::move(result));
    return;
  }
  reorder_.Push(std::move(result));
  while (std::optional<TaskResult> next = reorder_.PopNext()) ready_.push_back(std::move(*next));
}

void ResultStream::Take(ResultBatch batch) {
  bool gap = false;
  for (TaskResult& result : batch.results) {
    if (result.seq < received_) continue;  // had it already: a duplicate after a resume
    if (result.seq > received_) {
      // Something before it was lost. This one and the rest of the batch
      // come again after the resume.
      gap = true;
      break;
    }
    ++received_;
    Deliver(std::move(result));
  }
  // A following stream ends only when every task has its result: fewer
  // means the last batches were lost. Asked once at a given position; the
  // daemon's second word is taken as it is.
  if (!gap && batch.done && follow_ && received_ < job_.total && short_done_at_ != received_) {
    short_done_at_ = received_;
    gap = true;
  }
  if (gap) {
    // The "done" of a batch we did not take whole is not ours to believe.
    Resume(/*force=*/false);
    MaybeAck();
    return;
  }
  if (batch.done) {
    done_ = true;
    Detach();  // later replies to this stream are stale
    // Indexes still missing will never come: hand out the rest in order.
    for (TaskResult& result : reorder_.DrainAll()) ready_.push_back(std::move(result));
  }
  MaybeAck();
}

Result<std::optional<TaskResult>> ResultStream::Next() {
  client_->interrupted_ = false;
  while (ready_.empty() && !done_) {
    Result<ReplyBody> reply = client_->Await(id_, std::nullopt, [this] { Resume(/*force=*/true); });
    if (!reply.ok()) return reply.status();
    if (const auto* error = std::get_if<ErrorReply>(&*reply)) return FromErrorReply(*error);
    if (std::holds_alternative<AcceptedReply>(*reply)) {
      // The daemon took a resume: from here on, what comes is the new stream.
      resuming_since_.reset();
      continue;
    }
    auto* batch = std::get_if<ResultBatch>(&*reply);
    if (batch == nullptr) return Unexpected("watch");
    Take(std::move(*batch));
  }
  if (ready_.empty()) return std::optional<TaskResult>();
  std::optional<TaskResult> next(std::move(ready_.front()));
  ready_.pop_front();
  return next;
}

}  // namespace jobd
