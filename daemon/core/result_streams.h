// The result streams of every job: which clients watch which job, from
// where, and sending them what is new. Results go in completion order, from
// the position each client asked for, under its credit window, and never
// beyond what the job may show (Job::deliverable). A slow client keeps its
// place; a gone one is dropped.
//
// Not thread safe: the event loop thread only. No sockets: it sends through
// SupervisorIo.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <spdlog/logger.h>

#include "daemon/core/job.h"
#include "daemon/core/supervisor_io.h"

namespace jobd {

class ResultStreams {
 public:
  ResultStreams(size_t max_results_per_message, size_t default_window, SupervisorIo& io,
                spdlog::logger& log)
      : max_results_per_message_(max_results_per_message),
        default_window_(default_window),
        io_(io),
        log_(log) {}
  ResultStreams(const ResultStreams&) = delete;
  ResultStreams& operator=(const ResultStreams&) = delete;

  // Opens a stream of `job` to `client` from seq `from`; `window` 0 is the
  // default; with `stop_at` it ends there instead of following the job. The
  // same (client, request) asked again replaces its stream, so a client that
  // resumes after a break is not sent anything twice.
  void Open(Job& job, const ClientId& client, RequestId request_id, size_t from, size_t window,
            std::optional<size_t> stop_at);
  // The job a client's stream is about, if that stream is open.
  std::optional<JobId> JobOf(const ClientId& client, RequestId request_id) const;
  // The client has consumed `consumed` results: up to a window more may go.
  void Ack(Job& job, const ClientId& client, RequestId request_id, uint64_t consumed);
  // The job has new results (or became deliverable, or done).
  void Changed(const Job& job);
  // Sends what can be sent now. `find` maps ids to jobs (nullptr: gone).
  void Flush(const std::function<Job*(JobId)>& find);
  // The job is being forgotten (it has no watchers left).
  void Forget(JobId job) { to_flush_.erase(job); }

  // Some client has results to receive now.
  bool pending() const { return !to_flush_.empty(); }
  // Some client said "would block" in the last Flush: try again soon.
  bool blocked() const { return blocked_; }

 private:
  // Sends as much of one watcher's backlog as the client takes. Returns
  // false when the watcher is finished with (done sent, or client gone).
  bool FlushWatcher(Job& job, Watcher& watcher);

  const size_t max_results_per_message_;
  const size_t default_window_;
  SupervisorIo& io_;
  spdlog::logger& log_;

  std::set<JobId> to_flush_;                               // jobs whose watchers have news
  std::map<std::pair<ClientId, RequestId>, JobId> open_;  // every open stream
  bool blocked_ = false;
};

}  // namespace jobd
