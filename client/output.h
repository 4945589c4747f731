// jobctl's output lines, human and JSON (--json), as pure functions of the
// reply values so that tests can check them exactly. No trailing newlines.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proto/messages.h"
#include "util/clock.h"

namespace jobd {

// {"job":1,"index":0,"seq":3,"status":"ok","result":"...","error":null,"pid":4242,
//  "uid":1000,"attempts":1,"duration_ms":41.2} on one line; result is a
// command's stdout whatever its status, and for other tasks null unless ok;
// error null when ok; uid (the uid the task ran as) null when jobd does not
// say. seq is the result's place in the job's completion order (what `jobctl
// watch --from-seq` resumes from).
std::string ResultJsonLine(const TaskResult& result);
// "[0] ok 1250000525000055  (pid 4242, 41.2 ms)" or
// "[2] crashed: worker 4243 killed by SIGSEGV  (pid 4243, 1 attempt)", or for
// a failed command with output "[1] failed: err  (exit 4, pid 12, 1 attempt); stdout: out".
// The index is padded to the width of the job's largest index.
std::string ResultHumanLine(const TaskResult& result, uint32_t total);

// "exit 3", "killed by SIGTERM".
std::string CommandEndText(const CommandEnd& end);

// "jobd pid 1234 answered in 0.21 ms (2 workers, 0 queued, 0 running)"
std::string PingHumanLine(const PongReply& pong, Micros round_trip);
// {"rtt_ms":0.21,"pid":1234,"workers":2,"queued":0,"running":0}
std::string PingJsonLine(const PongReply& pong, Micros round_trip);
// `jobctl reload`: which jobd reloads.
std::string ReloadHumanLine(const PongReply& pong);
std::string ReloadJsonLine(const PongReply& pong);

// {"job":7}
std::string SubmittedJsonLine(JobId job);

// "job 7 cancelled: 120 queued tasks cancelled, 2 running tasks stopped" or
// "job 7 had already finished; nothing to cancel".
std::string CancelHumanLine(const CancelReply& reply);
// {"job":7,"cancelled_queued":120,"stopped_running":2,"already_finished":false}
std::string CancelJsonLine(const CancelReply& reply);

// "key  value" lines: job, task, state, submitted, total, queued, running,
// ok, failed, crashed, timeout, cancelled.
std::string JobHumanText(const JobInfo& job);
// {"job":7,"task":"spin","state":"running","total":..,"queued":..,"running":..,"ok":..,
//  "failed":..,"crashed":..,"timeout":..,"cancelled":..,"submitted":"2026-01-02T03:04:05Z"}
std::string JobJsonLine(const JobInfo& job);
// JOB STATE TASK TOTAL QUEUED RUNNING OK FAILED CANCELLED SUBMITTED (FAILED
// adds up failed, crashed and timeout). A job whose tasks were all cancelled
// is "done" like any finished job: JobState says whether anything is left.
std::string JobsTable(const std::vector<JobInfo>& jobs);

// The account name of a uid, nullopt when it has none: AccountName
// (client/account_name.h) in jobctl, a fixed table in tests.
using AccountNameOf = std::function<std::optional<std::string>(uint32_t uid)>;

// SLOT PID USER STATE JOB TASK DONE RSS UPTIME. USER is the account name of
// the worker's uid, or the number when it has none, or "-" when unknown. A
// vacant slot (no process) shows "-" in every column but SLOT and STATE.
std::string WorkersTable(const std::vector<WorkerInfo>& workers, const AccountNameOf& name_of);
// {"slot":0,"pid":..,"uid":1000,"user":"alice","state":"busy","job":7,"task":3,"tasks_done":..,
//  "rss_bytes":..,"uptime_s":..}
// uid is null when unknown (always for a vacant slot, whose pid is 0), user
// is there only when the uid has an account; job and task are null when the
// worker has no job.
std::string WorkerJsonLine(const WorkerInfo& worker, const AccountNameOf& name_of);

// `jobctl tasks`: NAME KIND DESCRIPTION FILE, or one JSON object a task
// (with "runs_code"). A task that runs its caller's code (an interpreter
// plugin's) has the kind "plugin (runs code)" in the table.
std::string TasksTable(const std::vector<TaskInfo>& tasks);
std::string TaskJsonLine(const TaskInfo& task);

// "41.2 ms", "1.50 s", "2m05s", "1h02m".
std::string HumanDuration(uint64_t micros);

}  // namespace jobd
