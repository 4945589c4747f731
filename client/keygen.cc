#include "client/keygen.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <zmq.h>

#include "util/unique_fd.h"

namespace jobd {
namespace {

Status WriteNewFileContents(int fd, const std::string& path, const std::string& text,
                            mode_t mode) {
  // Exactly `mode`, whatever the umask.
  if (::fchmod(fd, mode) != 0) return SysError("chmod", path, errno);
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError("write", path, errno);
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return SysError("fsync", path, errno);
  return Status::Ok();
}

// Creates `path`, which must not exist; on failure removes it again.
Status WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return SysError("create", path, errno);
  Status status = WriteNewFileContents(fd.get(), path, text, mode);
  if (!status.ok()) ::unlink(path.c_str());
  return status;
}

// The folder PREFIX.key goes in, checked first so that a wrong --out is
// told as such rather than as a failed create.
Status CheckFolder(const std::string& prefix, const std::string& secret_path) {
  const std::filesystem::path parent = std::filesystem::path(prefix).parent_path();
  const std::string folder = parent.empty() ? std::string(".") : parent.string();
  struct stat st;
  if (::stat(folder.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) return SysError("stat", folder, errno);
    return Status::InvalidArgument("cannot write " + secret_path + ": no folder " + folder +
                                   " (nothing written)");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("cannot write " + secret_path + ": " + folder +
                                   " is not a folder (nothing written)");
  }
  return Status::Ok();
}

}  // namespace

Result<CurveKeyPair> GenerateCurveKeyPair() {
  char public_key[kZ85KeyLength + 1] = {};
  char secret_key[kZ85KeyLength + 1] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return Status::Failed(std::string("cannot make a CURVE key pair: ") +
                          zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{public_key, secret_key};
}

Status WriteKeyPairFiles(const CurveKeyPair& keys, const std::string& prefix) {
  const std::string secret_path = prefix + ".key";
  const std::string public_path = prefix + ".pub";
  if (Status folder = CheckFolder(prefix, secret_path); !folder.ok()) return folder;
  for (const std::string& path : {secret_path, public_path}) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      return Status::InvalidArgument(path + " exists; not overwritten (choose another --out)");
    }
  }
  Status status = WriteNewFile(secret_path, FormatKeyPairFile(keys), 0600);
  if (!status.ok()) return status;
  status = WriteNewFile(public_path, keys.public_key + "\n", 0644);
  if (!status.ok()) ::unlink(secret_path.c_str());  // no half pair left behind
  return status;
}

}  // namespace jobd
