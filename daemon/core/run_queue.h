// Which job gets the next free worker: the highest priority first; among
// jobs of equal priority, round robin between users and, within a user's
// jobs, round robin between jobs. So a small job submitted after a huge one
// is not stuck behind it, and a user with many jobs gets no more turns than
// a user with one.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
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
  // Which users may take the turn; an empty one: all.
  using Eligible = std::function<bool(UserId)>;

  // Adds a job that has queued tasks. Adding a job twice is a bug.
  void Add(JobId job, int32_t priority, UserId user);
  // The job whose turn it is among the eligible users' jobs; it moves to the
  // back of its user's line, and the user to the back of its priority's.
  // The caller removes jobs that have nothing left to run.
  std::optional<JobId> Next(const Eligible& eligible = {});
  // The job whose turn it is, without taking the turn.
  std::optional<JobId> Peek(const Eligible& eligible = {}) const;
  void Remove(JobId job);
  bool empty() const { return lines_.empty(); }
  // The users with queued jobs, the highest priority first, in turn order.
  std::vector<UserId> Users() const;

 private:
  struct Line {  // the jobs of one priority
    std::deque<UserId> users;  // turn order
    std::unordered_map<UserId, std::deque<JobId>> jobs;
  };
  struct Place {
    int32_t priority;
    UserId user;
  };
  // The line and the position in line.users of the first eligible user.
  std::optional<std::pair<int32_t, size_t>> Find(const Eligible& eligible) const;

  // Cost: Remove is O(the user's jobs of that priority + users of that
  // priority); jobs and users are few next to tasks.
  std::map<int32_t, Line, std::greater<>> lines_;
  std::unordered_map<JobId, Place> places_;
};

}  // namespace jobd
