// The jobd client library: one DEALER connection to the coordinator, simple
// request/reply calls and result streams. Used by jobctl and by programs
// that submit work to jobd.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "client/ordered_buffer.h"
#include "proto/codec.h"
#include "proto/messages.h"
#include "util/clock.h"
#include "util/curve_keys.h"
#include "util/status.h"

namespace jobd {

// CURVE keys of a client of a tcp:// endpoint (all Z85).
struct CurveClientKeys {
  std::string server_key;  // jobd's public key
  CurveKeyPair keys;       // the client's own pair; jobd knows its public key
};

struct ClientOptions {
  std::string endpoint;
  // Bound on the Ping handshake in Connect().
  Millis connect_timeout{800};
  // Silence this long makes the client Ping (and an open stream resume, see
  // ResultStream); twice this long, it gives up.
  Millis liveness_timeout{5000};
  // Required for tcp:// (plain-text TCP is refused); unused otherwise.
  std::optional<CurveClientKeys> curve{};
};

class ResultStream;

// Not thread safe. At most one ResultStream may be open at a time, and the
// Client must outlive it. Other calls (Cancel, Status, Ping...) may be made
// while a stream is open: results that arrive meanwhile are kept for the
// stream. Every wait is bounded: a silent daemon becomes
// Status::Unavailable, never a hang. Errors the daemon sends (ErrorReply)
// become a Status carrying the daemon's message: kUnknownJob -> NotFound,
// kBadRequest/kVersionMismatch -> InvalidArgument, kShuttingDown/kQueueFull
// -> Unavailable, kPermissionDenied -> PermissionDenied, others -> Failed.
//
// Access: an ipc socket this user may not open fails Connect at once with
// Unavailable ("permission denied: ..."), as does a CURVE key jobd refuses
// (tcp), instead of waiting for an answer that cannot come.
//
// Interruption: with SetInterruptFlag(&flag), every wait for the daemon
// (each call, ResultStream::Next) checks `flag` at least every
// kInterruptSlice and returns Status::Unavailable("interrupted") as soon as
// it is true; interrupted() then says so. Nothing is lost by an
// interruption: a stream stays usable, and replies to an interrupted call
// that arrive later are skipped. The flag is only read, never cleared: the
// caller clears it before its next call (otherwise that call is interrupted
// at once too). Typical use (jobctl): a SIGINT handler sets the flag;
// Next() fails with interrupted(); the caller clears the flag, calls
// Cancel(job) and keeps calling Next() for the cancelled results.
class Client {
 public:
  // Fails at once on a bad endpoint or a missing ipc socket file, and with
  // Unavailable when the daemon does not answer a Ping within connect_timeout.
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // `*round_trip`, if given, receives the time from send to answer.
  Result<PongReply> Ping(Micros* round_trip = nullptr);
  // Submits and returns as soon as the job is accepted (request.watch is ignored).
  Result<JobInfo> Submit(SubmitRequest request);
  // Submits and streams the job's results.
  Result<std::unique_ptr<ResultStream>> Map(SubmitRequest request, bool ordered);
  // Streams an existing job's results from seq `from_seq` (0: all): those
  // already done first, then, with `follow`, the live ones until the job
  // ends; without, only those done now.
  Result<std::unique_ptr<ResultStream>> Watch(JobId job, bool ordered, uint64_t from_seq = 0,
                                              bool follow = true);

  // Results in flight on a stream before the client acknowledges some: the
  // daemon sends no more, so a slow reader costs it no buffering.
  static constexpr uint32_t kStreamWindow = 4096;
  Result<JobInfo> Status(JobId job);
  Result<std::vector<JobInfo>> Jobs();
  Result<std::vector<WorkerInfo>> Workers();
  // The daemon's jobd.jsonl.
  Result<std::string> LogPath();
  // The tasks the workers can run, and the plugins they could not load.
  Result<TasksReply> Tasks();
  // Asks jobd to do what SIGHUP does (root, jobd's user, the admin group).
  Result<PongReply> Reload();
  // Cancels the job's queued and running tasks. A job that had already
  // finished is no error (already_finished); an unknown one is NotFound.
  // Cancelled tasks still reach an open stream as kCancelled results.
  Result<CancelReply> Cancel(JobId job);

  // Longest a wait goes without looking at the interrupt flag.
  static constexpr Millis kInterruptSlice{50};
  // `flag` (not owned; nullptr: none) must outlive the Client, or the next
  // SetInterruptFlag. It may be set from any thread or a signal handler.
  void SetInterruptFlag(const std::atomic<bool>* flag) { interrupt_ = flag; }
  // True when the last call that failed (or ResultStream::Next) failed only
  // because the interrupt flag was set.
  bool interrupted() const { return interrupted_; }

  const std::string& endpoint() const { return options_.endpoint; }
  // The DEALER's routing id: random, chosen once per Client, so that after a
  // reconnection (a network blip) the daemon still sees the same peer and a
  // resumed stream replaces its old watcher instead of adding one.
  const std::string& routing_id() const { return routing_id_; }

 private:
  friend class ResultStream;

  explicit Client(ClientOptions options);

  Result<RequestId> Send(RequestBody body);
  // Sends under an existing request id (an ack on a stream).
  ::jobd::Status SendAs(RequestId id, RequestBody body);
  // The next reply to `id`. With `hard_limit`, gives up after it without
  // pinging (the handshake); otherwise pings after liveness_timeout of
  // silence (and then calls `on_silence`, if given) and gives up after twice
  // that.
  Result<ReplyBody> Await(RequestId id, std::optional<Millis> hard_limit = std::nullopt,
                          const std::function<void()>& on_silence = {});
  Result<ReplyBody> Call(RequestBody body);
  // Reads the monitor's events: an error when jobd refused the handshake.
  ::jobd::Status ReadMonitor();
  // `job` is 0 for a submit (known once accepted).
  Result<std::unique_ptr<ResultStream>> OpenStream(RequestBody body, bool ordered, JobId job,
                                                   uint64_t from_seq, bool follow);

  const ClientOptions options_;
  const std::string routing_id_;
  // Declared before the socket: the socket must close first.
  zmq::context_t context_;
  zmq::socket_t socket_;
  // tcp (CURVE): the socket's monitor, which tells a refused handshake.
  zmq::socket_t monitor_;
  bool handshake_succeeded_ = false;
  RequestId next_request_id_ = 1;
  const std::atomic<bool>* interrupt_ = nullptr;
  bool interrupted_ = false;
  // The open stream's request id (0: none) and its replies that arrived
  // while another call was waiting, oldest first.
  RequestId stream_id_ = 0;
  std::deque<ReplyBody> stream_backlog_;
  // The largest request jobd reads, from its first pong: a larger one it
  // would drop unread, and this client would wait for a reply forever.
  uint64_t max_request_bytes_ = kMaxFrameBytes;
};

// The results of one job, in completion order, or in index order when
// `ordered`. Borrows the Client that opened it.
//
// Resumable: every result carries `seq`, its position in the job's
// completion order. The stream takes results only in seq order: one it
// already has (seq below received(), a duplicate after a resume) is dropped;
// one past it (a gap: something was lost on the way) makes the stream resume,
// as does liveness_timeout of silence: it sends
// WatchRequest{job, from_seq = received(), window, follow} again under its
// own request id, which replaces its watcher on the daemon. So each result
// comes out of Next() exactly once, and in seq order unless `ordered`.
class ResultStream {
 public:
  ResultStream(const ResultStream&) = delete;
  ResultStream& operator=(const ResultStream&) = delete;
  ~ResultStream();

  // The job as the daemon accepted it (total = number of tasks).
  const JobInfo& job() const { return job_; }

  // The next result, std::nullopt at the end of the job, or why neither.
  // After an error the stream is unusable, except after an interruption
  // (interrupted() true): then Next() may simply be called again.
  Result<std::optional<TaskResult>> Next();
  // True when Next() has a result at hand and will not wait for the daemon.
  bool HasReady() const { return !ready_.empty(); }
  // Whether the last failed Next() was only interrupted (Client::interrupted).
  bool interrupted() const { return client_->interrupted(); }
  // The seq just past the last result taken in order from the daemon (those
  // in Next()'s queue included): where a resumed stream starts.
  uint64_t received() const { return received_; }
  // How many times the stream has asked the daemon to resume it.
  uint64_t resumes() const { return resumes_; }

 private:
  friend class Client;

  ResultStream(Client* client, RequestId id, bool ordered, JobId job, uint64_t from_seq,
               bool follow);
  void Take(ResultBatch batch);
  // Hands one result (the next by seq) to the queue, through the reorder
  // buffer when ordered_.
  void Deliver(TaskResult result);
  // Asks the daemon to send again from received_ (WatchRequest under id_).
  // Unless `force`, not again while an earlier resume is still unanswered
  // (results of the replaced stream may still be on the way).
  void Resume(bool force);
  // Tells the daemon what has arrived, once half the window has.
  void MaybeAck();
  // Stops the client keeping replies for this stream (at the end of the job).
  void Detach();

  Client* const client_;
  const RequestId id_;
  const bool ordered_;
  const bool follow_;
  JobId watch_job_;  // what a resume watches; 0 until a submit is accepted
  JobInfo job_;
  bool done_ = false;
  uint64_t received_;  // seq just past the last result taken in order
  uint64_t acked_;     // what the daemon has been told of received_
  uint64_t resumes_ = 0;
  bool resume_pending_ = false;  // a gap before the job id was known
  // A resume awaits its AcceptedReply since this time (nullopt: none).
  std::optional<TimePoint> resuming_since_;
  // received_ when a short "done" (fewer results than tasks) last made the
  // stream resume: a second one at the same place is believed.
  std::optional<uint64_t> short_done_at_;
  std::deque<TaskResult> ready_;  // in the order Next() hands them out
  OrderedBuffer reorder_;         // used when ordered_
};

}  // namespace jobd
