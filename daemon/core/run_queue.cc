#include "daemon/core/run_queue.h"

#include <algorithm>

namespace jobd {

void RunQueue::Add(JobId job, int32_t priority, UserId user) {
  Line& line = lines_[priority];
  std::deque<JobId>& jobs = line.jobs[user];
  if (jobs.empty()) line.users.push_back(user);
  jobs.push_back(job);
  places_[job] = Place{priority, user};
}

std::optional<std::pair<int32_t, size_t>> RunQueue::Find(const Eligible& eligible) const {
  for (const auto& [priority, line] : lines_) {
    for (size_t i = 0; i < line.users.size(); ++i) {
      if (!eligible || eligible(line.users[i])) return std::make_pair(priority, i);
    }
  }
  return std::nullopt;
}

std::optional<JobId> RunQueue::Next(const Eligible& eligible) {
  const auto found = Find(eligible);
  if (!found) return std::nullopt;
  Line& line = lines_.at(found->first);
  const UserId user = line.users[found->second];
  line.users.erase(line.users.begin() + static_cast<std::ptrdiff_t>(found->second));
  line.users.push_back(user);
  std::deque<JobId>& jobs = line.jobs.at(user);
  const JobId job = jobs.front();
  jobs.pop_front();
  jobs.push_back(job);
  return job;
}

std::optional<JobId> RunQueue::Peek(const Eligible& eligible) const {
  const auto found = Find(eligible);
  if (!found) return std::nullopt;
  const Line& line = lines_.at(found->first);
  return line.jobs.at(line.users[found->second]).front();
}

void RunQueue::Remove(JobId job) {
  auto place = places_.find(job);
  if (place == places_.end()) return;
  const auto [priority, user] = place->second;
  places_.erase(place);
  auto line = lines_.find(priority);
  if (line == lines_.end()) return;
  auto jobs = line->second.jobs.find(user);
  if (jobs == line->second.jobs.end()) return;
  std::erase(jobs->second, job);
  if (!jobs->second.empty()) return;
  line->second.jobs.erase(jobs);
  std::erase(line->second.users, user);
  if (line->second.users.empty()) lines_.erase(line);
}

std::vector<UserId> RunQueue::Users() const {
  std::vector<UserId> users;
  for (const auto& [priority, line] : lines_) {
    for (UserId user : line.users) {
      if (std::find(users.begin(), users.end(), user) == users.end()) users.push_back(user);
    }
  }
  return users;
}

}  // namespace jobd
