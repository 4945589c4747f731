// `jobctl keygen`: CURVE key pairs for jobd (--curve-secret-key) and its
// tcp:// clients (--curve-key-file).
#pragma once

#include <string>

#include "util/curve_keys.h"
#include "util/status.h"

namespace jobd {

// A fresh key pair (libzmq's, from libsodium's random source).
Result<CurveKeyPair> GenerateCurveKeyPair();

// Writes PREFIX.key, the key pair (FormatKeyPairFile), mode 0600, and
// PREFIX.pub, the public key alone on a line, mode 0644. Refuses to
// overwrite either, and a PREFIX whose folder does not exist
// (InvalidArgument: the caller should choose another). Leaves nothing
// behind when it fails.
Status WriteKeyPairFiles(const CurveKeyPair& keys, const std::string& prefix);

}  // namespace jobd
