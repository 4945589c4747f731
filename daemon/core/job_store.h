// The durable store as the supervisor sees it: a place to send StoreOps.
// Nothing here blocks; the io layer applies the ops on a writer thread,
// many per transaction, and reports each commit back through
// Supervisor::OnStoreCommit (and each job read back through OnJobLoaded).
#pragma once

#include "daemon/core/store_ops.h"

namespace jobd {

class JobStore {
 public:
  virtual ~JobStore() = default;
  // Ops are applied in the order recorded. Returns the op's ticket: commits
  // are reported as "every op up to ticket T".
  virtual uint64_t Record(StoreOp op) = 0;
  // Reads a job back (one no longer in memory); the answer comes through
  // Supervisor::OnJobLoaded.
  virtual void Load(JobId job) = 0;
};

}  // namespace jobd
