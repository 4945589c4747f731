// The store's schema, as the ordered list of steps that build it. The version
// of a store file is its `PRAGMA user_version`; 0 is an empty file.
#pragma once

#include <span>

namespace jobd {

// The newest schema this binary knows. A file with a newer one is refused.
inline constexpr int kSchemaVersion = 5;

// Migrations()[i] takes a store from version i to i + 1; each runs in its own
// transaction. A new version appends its step here and bumps kSchemaVersion.
std::span<const char* const> Migrations();

}  // namespace jobd
