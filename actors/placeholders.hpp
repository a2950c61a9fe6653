#pragma once
// The one `{placeholder}` engine of the code base: node program templates (ports, data dirs,
// peers), adapter settings and job-worker commands all expand `{name}` here, with the same
// rules. A placeholder is `{` + a name of letters, digits, `_`, `.` or `-` + `}`; anything
// else in braces (a JSON body, a shell `${X}`, awk's `{ print }`) is text and stays as it is.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace troupe {

/// The value of `name`, or nullopt to keep `{name}` as written. May throw (an unknown name
/// that must be an error is the caller's to say, with its own context).
using placeholder_lookup = std::function<std::optional<std::string>(const std::string& name)>;

/// Replaces every placeholder `lookup` gives a value for; values are inserted as they are
/// (quoting, where a shell reads the result, is the caller's: see jobs/workers).
std::string expand_placeholders(std::string_view text, const placeholder_lookup& lookup);

} // namespace troupe
