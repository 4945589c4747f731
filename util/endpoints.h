// Where jobd listens and keeps its files when no flag says otherwise.
#pragma once

#include <string>

#include "util/status.h"

namespace jobd {

// $JOBD_SOCKET, else ipc://<runtime dir>/jobd.sock: /run/jobd for root,
// $XDG_RUNTIME_DIR/jobd (or /tmp/jobd-<uid>) for other users.
std::string DefaultClientEndpoint();

// /var/lib/jobd for root, else $XDG_STATE_HOME/jobd (~/.local/state/jobd).
std::string DefaultStateDir();

// /var/log/jobd for root, else <state_dir>/log.
std::string DefaultLogDir(const std::string& state_dir);

// For an ipc:// endpoint, the socket file's path; empty for other transports.
std::string IpcPath(const std::string& endpoint);

// True for a tcp:// endpoint: one that needs CURVE keys on both sides.
bool IsTcpEndpoint(const std::string& endpoint);

// Checks the form "transport://address" with a transport jobd supports.
Status ValidateEndpoint(const std::string& endpoint);

}  // namespace jobd
