// "Did you mean ...?" for misspelt commands and option names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobd {

// Edits (insert, delete, substitute, swap two neighbours) between a and b.
size_t EditDistance(std::string_view a, std::string_view b);

// The name in `names` nearest to `word`, if it is near enough to be what
// was meant: at most one edit per three characters of `word` (at least one).
// The first of equally near names wins.
std::optional<std::string> ClosestName(std::string_view word,
                                       const std::vector<std::string>& names);

}  // namespace jobd
