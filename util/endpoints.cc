#include "util/endpoints.h"

#include <unistd.h>

#include <cstdlib>

namespace jobd {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : fallback;
}

std::string UserStateHome() {
  return EnvOr("XDG_STATE_HOME", EnvOr("HOME", "/tmp") + "/.local/state");
}

}  // namespace

std::string DefaultClientEndpoint() {
  const char* env = std::getenv("JOBD_SOCKET");
  if (env != nullptr && *env != '\0') return env;
  if (geteuid() == 0) return "ipc:///run/jobd/jobd.sock";
  const std::string runtime =
      EnvOr("XDG_RUNTIME_DIR", "/tmp/jobd-" + std::to_string(geteuid()));
  return "ipc://" + runtime + "/jobd/jobd.sock";
}

std::string DefaultStateDir() {
  if (geteuid() == 0) return "/var/lib/jobd";
  return UserStateHome() + "/jobd";
}

std::string DefaultLogDir(const std::string& state_dir) {
  if (geteuid() == 0) return "/var/log/jobd";
  return state_dir + "/log";
}

std::string IpcPath(const std::string& endpoint) {
  constexpr std::string_view kIpc = "ipc://";
  if (endpoint.rfind(kIpc, 0) != 0) return "";
  std::string path = endpoint.substr(kIpc.size());
  if (!path.empty() && path[0] == '@') return "";  // abstract namespace: no file
  return path;
}

bool IsTcpEndpoint(const std::string& endpoint) { return endpoint.rfind("tcp://", 0) == 0; }

Status ValidateEndpoint(const std::string& endpoint) {
  for (const char* transport : {"ipc://", "tcp://", "inproc://"}) {
    const std::string prefix = transport;
    if (endpoint.rfind(prefix, 0) == 0 && endpoint.size() > prefix.size()) {
      return Status::Ok();
    }
  }
  return Status::InvalidArgument("bad endpoint '" + endpoint +
                                 "': expected ipc://PATH or tcp://HOST:PORT");
}

}  // namespace jobd
