// Which job gets the next free worker: the highest priority first; among
// jobs of equal priority, round robin between users and, within a user's
// jobs, round robin between jobs. So a small job submitted after a huge one
// is not stuck behind it, and a user with many jobs gets no more turns than
// a user with one.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "proto/messages.h"

namespace jobd {

// The supervisor's number for a user, whoever that is (see Supervisor).
using UserId = uint32_t;

class RunQueue {
 public:
  // Adds a job that has queued tasks. Adding a job twice is a bug.
  void Add(JobId job, int32_t priority, UserId user);
  // The job whose turn it is among the jobs of the users `eligible(user)`
  // accepts (all, without one); it moves to the back of its user's line,
  // and the user to the back of its priority's. The caller removes jobs that
  // have nothing left to run.
  template <typename Eligible>
  std::optional<JobId> Next(const Eligible& eligible);
  std::optional<JobId> Next() { return Next(Anyone); }
  // The job whose turn it is, without taking the turn.
  template <typename Eligible>
  std::optional<JobId> Peek(const Eligible& eligible);
  std::optional<JobId> Peek() { return Peek(Anyone); }
  void Remove(JobId job);
  bool empty() const { return lines_.empty(); }
  // The users with queued jobs, the highest priority first, in turn order.
  std::vector<UserId> Users() const;

 private:
  static bool Anyone(UserId) { return true; }
  struct UserLine {
    UserId user;
    std::deque<JobId> jobs;  // turn order
  };
  // The users with jobs of one priority, in turn order: a list, so that a
  // user moves to the back (splice) without copying its jobs.
  using Line = std::list<UserLine>;
  struct Place {
    int32_t priority;
    Line::iterator user;
  };
  // The first eligible user's line, highest priority first.
  template <typename Eligible>
  std::optional<std::pair<Line*, Line::iterator>> Find(const Eligible& eligible);

  // Cost: Next and Peek are O(1) when the first user is eligible; Remove is
  // O(the user's jobs of that priority); jobs are few next to tasks.
  std::map<int32_t, Line, std::greater<>> lines_;
  std::unordered_map<JobId, Place> places_;
};

template <typename Eligible>
std::optional<std::pair<RunQueue::Line*, RunQueue::Line::iterator>> RunQueue::Find(
    const Eligible& eligible) {
  for (auto& [priority, line] : lines_) {
    for (auto it = line.begin(); it != line.end(); ++it) {
      if (eligible(it->user)) return std::make_pair(&line, it);
    }
  }
  return std::nullopt;
}

template <typename Eligible>
std::optional<JobId> RunQueue::Next(const Eligible& eligible) {
  const auto found = Find(eligible);
  if (!found) return std::nullopt;
  auto [line, user] = *found;
  line->splice(line->end(), *line, user);  // iterators stay valid
  const JobId job = user->jobs.front();
  user->jobs.pop_front();
  user->jobs.push_back(job);
  return job;
}

template <typename Eligible>
std::optional<JobId> RunQueue::Peek(const Eligible& eligible) {
  const auto found = Find(eligible);
  if (!found) return std::nullopt;
  return found->second->jobs.front();
}

}  // namespace jobd
