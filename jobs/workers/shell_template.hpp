#pragma once
// Command templates for /bin/sh whose placeholders can never become shell code. A value is
// not pasted into the script: the placeholder becomes a reference to an environment variable
// that the worker sets for the command (`{payload.block}` -> "${TROUPE_PAYLOAD_BLOCK}"), so
// the shell reads the value as data in every context where it expands variables (bare words,
// double quotes, $(...) and backticks). Where it would not expand it (single quotes) or would
// evaluate it (arithmetic $((...)), here-documents), the template is refused with the reason.

#include "actors/placeholders.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace troupe::jobs {

/// A script for `/bin/sh -c` and the environment variables its placeholders refer to.
struct shell_command {
  std::string script;
  std::vector<std::pair<std::string, std::string>> env; ///< name, value
};

/// Whether `name` is a placeholder of this template's kind (e.g. `key`, `payload.FIELD`).
using placeholder_known = std::function<bool(const std::string& name)>;

/// Throws troupe::user_error naming the placeholder, its context and the fix when one of the
/// known placeholders in `tmpl` sits where the shell would not read it as plain data.
/// `what` names the template in the message (e.g. "--command").
void check_shell_template(const std::string& tmpl, const placeholder_known& known,
                          const std::string& what);

/// Replaces every placeholder `lookup` knows by a reference to `TROUPE_<NAME>` (upper case,
/// `.` and `-` as `_`), whose value goes into `env`. Throws as check_shell_template.
shell_command expand_shell_template(const std::string& tmpl, const placeholder_lookup& lookup,
                                    const std::string& what = "command");

/// The environment variable a placeholder's value travels in: `payload.block` ->
/// `TROUPE_PAYLOAD_BLOCK`.
std::string placeholder_env_name(const std::string& name);

} // namespace troupe::jobs
