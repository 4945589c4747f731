#include "client/client.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "proto/codec.h"
#include "util/endpoints.h"

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
    case ErrorCode::kInternal:
      break;
  }
  return Status::Failed(std::move(message));
}

Status Unexpected(const char* what) {
  return Status::Failed(std::string("unexpected reply from jobd to ") + what);
}

std::string MillisText(Millis ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

Client::Client(ClientOptions options)
    : options_(std::move(options)), context_(1), socket_(context_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  if (jobd::Status s = ValidateEndpoint(options.endpoint); !s.ok()) return s;
  // A missing socket file means no daemon; say where we looked instead of
  // letting ZeroMQ retry silently until the timeout.
  if (const std::string path = IpcPath(options.endpoint); !path.empty()) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return Status::Unavailable("no jobd at " + options.endpoint +
                                 " (no such socket file; is jobd running? set --socket or "
                                 "JOBD_SOCKET)");
    }
  }
  std::unique_ptr<Client> client(new Client(options));
  try {
    client->socket_.connect(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot connect to " + options.endpoint + ": " + e.what());
  }
  Result<RequestId> id = client->Send(PingRequest{});
  if (!id.ok()) return id.status();
  Result<ReplyBody> reply = client->Await(*id, options.connect_timeout);
  if (!reply.ok()) return reply.status();
  if (const auto* error = std::get_if<ErrorReply>(&*reply)) return FromErrorReply(*error);
  if (!std::holds_alternative<PongReply>(*reply)) return Unexpected("ping");
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
  if (frame.size() > kMaxFrameBytes) {
    // jobd would drop the connection without a word; say why here instead.
    return Status::InvalidArgument(
        "request of " + std::to_string(frame.size()) + " bytes is over jobd's limit of " +
        std::to_string(kMaxFrameBytes) + " bytes; split the job into smaller ones");
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

Result<ReplyBody> Client::Await(RequestId id, std::optional<Millis> hard_limit) {
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
    }
    const Millis deadline = hard_limit ? *hard_limit : (pinged ? 2 * liveness : liveness);
    Millis wait = std::max(Millis(1), deadline - quiet);
    // A signal may be delivered to one of ZeroMQ's threads, so EINTR alone
    // cannot be relied on: look at the flag in slices.
    if (interrupt_ != nullptr) wait = std::min(wait, kInterruptSlice);

    zmq::message_t frame;
    try {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, wait) == 0) continue;
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
  return OpenStream(std::move(request), ordered, 0);
}

Result<std::unique_ptr<ResultStream>> Client::Watch(JobId job, bool ordered, uint64_t from_seq,
                                                    bool follow) {
  return OpenStream(WatchRequest{job, from_seq, kStreamWindow, follow}, ordered, from_seq);
}

Result<std::unique_ptr<ResultStream>> Client::OpenStream(RequestBody body, bool ordered,
                                                         uint64_t from_seq) {
  Result<RequestId> id = Send(std::move(body));
  if (!id.ok()) return id.status();
  std::unique_ptr<ResultStream> stream(new ResultStream(this, *id, ordered, from_seq));
  while (true) {
    Result<ReplyBody> reply = Await(*id);
    if (!reply.ok()) return reply.status();
    if (const auto* error = std::get_if<ErrorReply>(&*reply)) return FromErrorReply(*error);
    if (auto* accepted = std::get_if<AcceptedReply>(&*reply)) {
      stream->job_ = std::move(accepted->job);
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

Result<std::string> Client::LogPath() {
  Result<ReplyBody> reply = Call(LogsRequest{});
  if (!reply.ok()) return reply.status();
  if (auto* logs = std::get_if<LogsReply>(&*reply)) return std::move(logs->path);
  return Unexpected("logs");
}

// ---- ResultStream ----------------------------------------------------------

ResultStream::ResultStream(Client* client, RequestId id, bool ordered, uint64_t from_seq)
    : client_(client), id_(id), ordered_(ordered), received_(from_seq), acked_(from_seq) {
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

void ResultStream::Take(ResultBatch batch) {
  for (const TaskResult& result : batch.results) received_ = std::max(received_, result.seq + 1);
  for (TaskResult& result : batch.results) {
    if (!ordered_) {
      ready_.push_back(std::move(result));
      continue;
    }
    reorder_.Push(std::move(result));
    while (std::optional<TaskResult> next = reorder_.PopNext()) ready_.push_back(std::move(*next));
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
    Result<ReplyBody> reply = client_->Await(id_);
    if (!reply.ok()) return reply.status();
    if (const auto* error = std::get_if<ErrorReply>(&*reply)) return FromErrorReply(*error);
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
