// The durable store as the supervisor sees it: a place to send StoreOps.
// Recording never blocks; the io layer applies the ops on a writer thread,
// many per transaction, and reports each commit back through
// Supervisor::OnStoreCommit.
#pragma once

#include "daemon/core/store_ops.h"

namespace jobd {

class JobStore {
 public:
  virtual ~JobStore() = default;
  // Ops are applied in the order recorded. Returns the op's ticket: commits
  // are reported as "every op up to ticket T".
  virtual uint64_t Record(StoreOp op) = 0;
};

}  // namespace jobd
