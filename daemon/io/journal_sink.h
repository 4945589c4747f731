// jobd's log records, the coordinator's and the workers', sent to the
// systemd journal natively (sd_journal_sendv(3)) with fields to filter on:
//
//   journalctl -u jobd JOB_ID=42          what concerns job 42
//   journalctl -u jobd JOBD_PID=1234      what worker 1234 wrote
//   journalctl -u jobd JOBD_ROLE=worker -p warning
//
// The sending happens on a thread of its own (JournalWriter): journald may be
// slow, and the event loop must never wait for it. A record the journal
// refuses goes to a fallback (stderr) instead, so logging never stops.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "util/clock.h"
#include "util/log_record.h"
#include "util/status.h"

namespace jobd {

// syslog(3) priorities, as journald's PRIORITY= takes them.
int JournalPriority(LogLevel level);

// The MESSAGE= text: the record's message after who wrote it and what it
// concerns, as journalctl shows it beside jobd's own pid:
// "worker[1] pid 1234 job=42 task=3: running" ("job=42: job accepted: ..."
// for the coordinator, the message alone when it concerns no job).
std::string JournalMessage(const LogRecord& record);

// Every "FIELD=value" of one record: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER
// (jobd), JOBD_ROLE (coordinator or worker), JOBD_PID (the pid of the
// process that wrote it), and when known JOBD_WORKER (the slot), JOB_ID and
// TASK_INDEX (the task's index in its job).
std::vector<std::string> JournalFields(const LogRecord& record);

class JournalSender {
 public:
  virtual ~JournalSender() = default;
  // One journal entry made of `fields`.
  virtual Status Send(const std::vector<std::string>& fields) = 0;
};

// sd_journal_sendv(3), to /run/systemd/journal/socket. May block while
// journald is behind: call it off the event loop. Fails when that socket
// does not exist (where sd_journal_sendv itself would drop the entry and
// report success).
class SdJournalSender final : public JournalSender {
 public:
  Status Send(const std::vector<std::string>& fields) override;
};

// --journal: auto (the default), yes or no.
enum class JournalMode : uint8_t { kAuto, kYes, kNo };
Result<JournalMode> ParseJournalMode(std::string_view text);

// Whether `fd` is the stream journald reads: systemd sets JOURNAL_STREAM to
// "DEVICE:INODE" of the stdout/stderr it connects to the journal
// (systemd.exec(5)); a child that inherited the variable but not the stream
// does not match. `journal_stream` is the variable's value, or null.
bool StreamIsJournal(const char* journal_stream, int fd);

// kAuto: whether stderr is the journal's stream (jobd runs as a systemd
// service with StandardError=journal, the default).
bool UseJournal(JournalMode mode);

struct JournalWriterOptions {
  // Records waiting beyond this are counted and dropped.
  size_t max_queued = 100'000;
  // At exit, how long to wait for the queue to reach the journal. A journal
  // that takes no more (journald stuck) must not keep jobd from exiting:
  // past this, what is left is abandoned (it is in jobd.jsonl).
  Millis exit_grace{2000};
};

// The thread that hands records to a JournalSender.
class JournalWriter {
 public:
  // Where a record the journal refused goes, as one human line; also a note
  // when the journal starts refusing and when it takes records again.
  using Fallback = std::function<void(const std::string& line)>;

  JournalWriter(std::unique_ptr<JournalSender> sender, Fallback fallback,
                JournalWriterOptions options = {});
  // Sends what is queued and stops the thread, waiting at most exit_grace.
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Queues one record. Safe from any thread; never blocks: past
  // `max_queued` waiting records, one is counted and dropped, and a warning
  // says how many once the writer catches up.
  void Write(LogRecord record);

 private:
  // Shared with the thread, which may outlive this object if the journal
  // blocks it past exit_grace.
  struct Shared {
    std::unique_ptr<JournalSender> sender;
    Fallback fallback;
    size_t max_queued = 0;
    bool failing = false;  // writer thread only

    std::mutex mu;
    std::condition_variable wake;      // for the thread: records, or stop
    std::condition_variable finished;  // for the destructor: done
    std::deque<LogRecord> queue;       // guarded by mu
    size_t dropped = 0;                // guarded by mu
    bool stopping = false;             // guarded by mu
    bool done = false;                 // guarded by mu
  };

  static void Run(Shared& shared);
  static void SendOne(Shared& shared, const LogRecord& record);

  const std::shared_ptr<Shared> shared_;
  const Millis exit_grace_;
  std::thread thread_;  // last: started when the rest exists
};

}  // namespace jobd
