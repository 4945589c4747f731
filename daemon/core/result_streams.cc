#include "daemon/core/result_streams.h"

#include <algorithm>

namespace jobd {

void ResultStreams::Open(Job& job, const ClientId& client, RequestId request_id, size_t from,
                         size_t window, std::optional<size_t> stop_at) {
  if (window == 0) window = default_window_;
  const Watcher watcher{client, request_id, from, from, window, stop_at};
  auto& watchers = job.watchers();
  auto same = std::find_if(watchers.begin(), watchers.end(), [&](const Watcher& w) {
    return w.client == client && w.request_id == request_id;
  });
  if (same != watchers.end()) {
    *same = watcher;
  } else {
    watchers.push_back(watcher);
  }
  open_[{client, request_id}] = job.id();
  to_flush_.insert(job.id());
}

std::optional<JobId> ResultStreams::JobOf(const ClientId& client, RequestId request_id) const {
  auto it = open_.find({client, request_id});
  if (it == open_.end()) return std::nullopt;
  return it->second;
}

void ResultStreams::Ack(Job& job, const ClientId& client, RequestId request_id,
                        uint64_t consumed) {
  for (Watcher& w : job.watchers()) {
    if (w.client == client && w.request_id == request_id) {
      w.acked = std::max<size_t>(w.acked, std::min<uint64_t>(consumed, w.next));
    }
  }
  to_flush_.insert(job.id());
}

void ResultStreams::Changed(const Job& job) {
  if (!job.watchers().empty()) to_flush_.insert(job.id());
}

void ResultStreams::Flush(const std::function<Job*(JobId)>& find) {
  blocked_ = false;
  for (auto it = to_flush_.begin(); it != to_flush_.end();) {
    Job* job = find(*it);
    bool keep = false;
    if (job != nullptr) {
      auto& watchers = job->watchers();
      watchers.erase(std::remove_if(watchers.begin(), watchers.end(),
                                    [&](Watcher& w) {
                                      if (FlushWatcher(*job, w)) return false;
                                      open_.erase({w.client, w.request_id});
                                      return true;
                                    }),
                     watchers.end());
      // Keep the job listed while a watcher could send more now; one held
      // back by its window comes back with its next ack.
      const size_t deliverable = job->deliverable();
      const bool all_out = job->done() && deliverable == job->completed();
      for (const Watcher& w : watchers) {
        const bool backlog = w.next < deliverable || all_out;
        if (backlog && w.next < w.acked + w.window) keep = true;
      }
    }
    it = keep ? std::next(it) : to_flush_.erase(it);
  }
}

bool ResultStreams::FlushWatcher(Job& job, Watcher& watcher) {
  while (true) {
    ResultBatch batch;
    batch.job = job.id();
    const size_t last = std::min(watcher.stop_at.value_or(job.completed()), job.deliverable());
    const size_t end =
        std::max(watcher.next, std::min({last, watcher.acked + watcher.window,
                                         watcher.next + max_results_per_message_}));
    for (size_t i = watcher.next; i < end; ++i) batch.results.push_back(job.ResultAt(i));
    batch.done = end >= last && ((job.done() && last == job.completed()) ||
                                 (watcher.stop_at && end >= *watcher.stop_at));
    // Caught up, or held back by the window until the client acknowledges.
    if (batch.results.empty() && !batch.done) return true;
    switch (io_.SendToClient(watcher.client, Reply{kProtocolVersion, watcher.request_id, batch})) {
      case Delivery::kSent:
        watcher.next = end;
        if (batch.done) return false;
        break;
      case Delivery::kWouldBlock:
        blocked_ = true;
        return true;
      case Delivery::kGone:
        log_.info("client gone; stopped streaming job {} to it", job.id());
        return false;
    }
  }
}

}  // namespace jobd
