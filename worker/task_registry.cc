#include "worker/task_registry.h"

#include <exception>

namespace jobd {

std::string_view TaskKindName(TaskKind kind) {
  switch (kind) {
    case TaskKind::kBuiltin: return "built-in";
    case TaskKind::kPlugin: return "plugin";
    case TaskKind::kCommand: return "exec";
  }
  return "unknown";
}

Status TaskRegistry::Register(TaskEntry entry) {
  if (entry.name.empty()) return Status::InvalidArgument("a task needs a name");
  if (!entry.function) {
    return Status::InvalidArgument("task '" + entry.name + "' has no function");
  }
  if (entries_.count(entry.name) != 0) {
    return Status::InvalidArgument("task '" + entry.name + "' is already registered");
  }
  std::string name = entry.name;
  entries_.emplace(std::move(name), std::move(entry));
  return Status::Ok();
}

const TaskEntry* TaskRegistry::Find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

TaskOutput TaskRegistry::Run(std::string_view name,
                             const std::vector<std::string>& args) const {
  const TaskEntry* entry = Find(name);
  if (entry == nullptr) {
    std::string known;
    for (const auto& [known_name, unused] : entries_) {
      if (!known.empty()) known += ", ";
      known += known_name;
    }
    return TaskOutput::Failure("unknown task '" + std::string(name) + "' (known: " +
                               known + ")");
  }
  // A task is the user's code: an exception from it fails that task only,
  // not the worker.
  try {
    return entry->function(args);
  } catch (const std::exception& e) {
    return TaskOutput::Failure("task '" + entry->name + "' threw: " + e.what());
  }
}

std::vector<const TaskEntry*> TaskRegistry::List() const {
  std::vector<const TaskEntry*> list;
  list.reserve(entries_.size());
  for (const auto& [unused, entry] : entries_) list.push_back(&entry);
  return list;
}

}  // namespace jobd
