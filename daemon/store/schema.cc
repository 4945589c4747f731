#include "daemon/store/schema.h"

#include <array>

namespace jobd {
namespace {

// Version 1. Ids, durations and sequence numbers are uint64 in C++ and
// INTEGER (int64) here: the cast is exact both ways.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE jobs (
  id                INTEGER PRIMARY KEY,
  default_task      TEXT    NOT NULL,
  retries           INTEGER NOT NULL,
  timeout_us        INTEGER NOT NULL,
  priority          INTEGER NOT NULL,
  retry_timeouts    INTEGER NOT NULL,
  submitted_unix_us INTEGER NOT NULL,
  finished_unix_us  INTEGER            -- NULL while the job runs
);
-- Retention and "newest finished" scan finished jobs only.
CREATE INDEX jobs_by_finish ON jobs(finished_unix_us) WHERE finished_unix_us IS NOT NULL;

CREATE TABLE tasks (
  job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  idx         INTEGER NOT NULL,
  name        TEXT    NOT NULL,            -- '' : the job's default task
  args        BLOB    NOT NULL,            -- see args_codec.h
  attempts    INTEGER NOT NULL,
  running     INTEGER NOT NULL,            -- started and not finished
  status      INTEGER,                     -- TaskStatus; NULL until final
  result      BLOB,
  error       BLOB,
  pid         INTEGER,
  duration_us INTEGER,
  seq         INTEGER,                     -- position in completion order
  PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;

-- Job ids must keep growing after retention deletes the newest jobs.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Version 2: command tasks. NULL for jobs without commands and for tasks
// whose command never started. Encodings: command_codec.h.
constexpr const char* kVersion2 = R"sql(
ALTER TABLE jobs ADD COLUMN command BLOB;
ALTER TABLE tasks ADD COLUMN command_end BLOB;
)sql";

// Version 3: who submitted each job (daemon/core/access.h). A local user by
// uid, or a CURVE client by its key's name; both NULL for a job stored
// before, which only root, jobd's own user and the admin group may see.
constexpr const char* kVersion3 = R"sql(
ALTER TABLE jobs ADD COLUMN owner_uid INTEGER;
ALTER TABLE jobs ADD COLUMN owner_key TEXT;
)sql";

// Version 4: a job's task specs packed in its row (specs_codec.h), so a new
// job is one row. Task rows then exist only for tasks that have started;
// their name and args are '' and x'' (the specs hold them). NULL for jobs
// stored before, whose tasks all have rows with their names and args.
constexpr const char* kVersion4 = R"sql(
ALTER TABLE jobs ADD COLUMN tasks BLOB;
)sql";

// Version 5: the local account (uid) a job's tasks run as: the submitter's
// own uid, or the account its CURVE key maps to. NULL for a key with no
// account (built-in tasks only) and for a job stored before.
constexpr const char* kVersion5 = R"sql(
ALTER TABLE jobs ADD COLUMN run_as_uid INTEGER;
)sql";

constexpr std::array<const char*, kSchemaVersion> kMigrations = {kVersion1, kVersion2, kVersion3,
                                                                 kVersion4, kVersion5};

}  // namespace

std::span<const char* const> Migrations() { return kMigrations; }

}  // namespace jobd
