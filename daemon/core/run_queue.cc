#include "daemon/core/run_queue.h"

#include <algorithm>

namespace jobd {

void RunQueue::Add(JobId job, int32_t priority, UserId user) {
  Line& line = lines_[priority];
  auto it = std::find_if(line.begin(), line.end(),
                         [user](const UserLine& u) { return u.user == user; });
  if (it == line.end()) it = line.insert(line.end(), UserLine{user, {}});
  it->jobs.push_back(job);
  places_[job] = Place{priority, it};
}

void RunQueue::Remove(JobId job) {
  auto place = places_.find(job);
  if (place == places_.end()) return;
  const auto [priority, user] = place->second;
  places_.erase(place);
  std::erase(user->jobs, job);
  if (!user->jobs.empty()) return;
  auto line = lines_.find(priority);
  line->second.erase(user);
  if (line->second.empty()) lines_.erase(line);
}

std::vector<UserId> RunQueue::Users() const {
  std::vector<UserId> users;
  for (const auto& [priority, line] : lines_) {
    for (const UserLine& u : line) {
      if (std::find(users.begin(), users.end(), u.user) == users.end()) users.push_back(u.user);
    }
  }
  return users;
}

}  // namespace jobd
