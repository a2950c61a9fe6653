#include "jobs/workers/shell_template.hpp"

#include "actors/errors.hpp"

#include <cctype>
#include <map>
#include <optional>

namespace troupe::jobs {

namespace {

/// Where the shell stands at a point of the script. `code` frames (the top level, $(...) and
/// backticks) read words; the others are quotes or arithmetic.
enum class context { top, command_sub, backtick, single_quote, double_quote, arithmetic };

struct frame {
  context where;
  int parens = 0; ///< open '(' inside this frame (subshells, case patterns)
};

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

/// The placeholder name at `i` (a '{'), or empty; `end` is set to its closing brace.
std::string placeholder_at(const std::string& t, size_t i, size_t& end) {
  if (t[i] != '{' || (i > 0 && t[i - 1] == '$')) // ${X} is the shell's own expansion
    return {};
  size_t j = i + 1;
  while (j < t.size() && name_char(t[j]))
    ++j;
  if (j == i + 1 || j >= t.size() || t[j] != '}')
    return {};
  end = j;
  return t.substr(i + 1, j - i - 1);
}

[[noreturn]] void refuse(const std::string& what, const std::string& name, const char* where) {
  throw user_error((what.empty() ? "" : what + ": ") + "the placeholder {" + name + "} sits " +
                   where +
                   ", where the shell would not read its value as plain data; move it out "
                   "(values reach the command as environment variables, so a bare {" +
                   name + "} or one inside double quotes is safe with any text)");
}

/// Where /bin/sh stands while it reads a script from left to right: a stack of quotes and
/// substitutions. Only what decides how a placeholder would be read is tracked.
class shell_lexer {
public:
  context where() const { return stack_.back().where; }
  bool after_heredoc() const { return heredoc_; }

  /// Copies the text at `i` (one character, or an escape or `$(`/`$((` opener) to `out`,
  /// updates the state, and returns the index of the last character it took.
  size_t step(const std::string& t, size_t i, std::string& out) {
    const char c = t[i];
    const char next = i + 1 < t.size() ? t[i + 1] : '\0';
    frame& f = stack_.back();
    out += c;
    if (f.where == context::single_quote) {
      if (c == '\'')
        stack_.pop_back();
      return i;
    }
    if (c == '\\' && next != '\0') { // an escaped character is text (also in double quotes)
      out += next;
      return i + 1;
    }
    if (c == '$' && next == '(') {
      const bool arith = i + 2 < t.size() && t[i + 2] == '(';
      out += arith ? "((" : "(";
      stack_.push_back({arith ? context::arithmetic : context::command_sub});
      return i + (arith ? 2 : 1);
    }
    if (f.where == context::arithmetic)
      return arithmetic(f, c, next, out, i);
    if (c == '`') {
      if (f.where == context::backtick)
        stack_.pop_back();
      else
        stack_.push_back({context::backtick});
    } else if (f.where == context::double_quote) {
      if (c == '"')
        stack_.pop_back();
    } else {
      code(f, c, next);
    }
    return i;
  }

private:
  size_t arithmetic(frame& f, char c, char next, std::string& out, size_t i) {
    if (c == '(')
      ++f.parens;
    else if (c == ')' && f.parens > 0)
      --f.parens;
    else if (c == ')' && next == ')') {
      out += next;
      stack_.pop_back();
      return i + 1;
    }
    return i;
  }

  /// A code frame: the top level, $(...) or backticks.
  void code(frame& f, char c, char next) {
    if (c == '\'')
      stack_.push_back({context::single_quote});
    else if (c == '"')
      stack_.push_back({context::double_quote});
    else if (c == '(')
      ++f.parens;
    else if (c == ')' && f.parens > 0)
      --f.parens;
    else if (c == ')' && f.where == context::command_sub)
      stack_.pop_back();
    else if (c == '<' && next == '<')
      heredoc_ = true;
  }

  std::vector<frame> stack_{{context::top}};
  bool heredoc_ = false;
};

/// Walks `t` once, as /bin/sh would split it into quotes and substitutions, and calls `emit`
/// for each placeholder `resolve` knows with the reference to write in its place.
template <class Resolve, class Emit>
std::string scan(const std::string& t, const std::string& what, Resolve resolve, Emit emit) {
  std::string out;
  out.reserve(t.size() + 32);
  shell_lexer sh;
  for (size_t i = 0; i < t.size(); ++i) {
    size_t end = 0;
    const std::string name = placeholder_at(t, i, end);
    if (name.empty() || !resolve(name)) {
      i = sh.step(t, i, out);
      continue;
    }
    if (sh.where() == context::single_quote)
      refuse(what, name, "inside single quotes");
    if (sh.where() == context::arithmetic)
      refuse(what, name, "inside arithmetic $((...)), which evaluates text as an expression");
    if (sh.after_heredoc())
      refuse(what, name, "after a here-document (<<)");
    out += emit(name, sh.where() == context::double_quote);
    i = end;
  }
  return out;
}

} // namespace

std::string placeholder_env_name(const std::string& name) {
  std::string v = "TROUPE_";
  for (char c : name)
    v += std::isalnum(static_cast<unsigned char>(c))
           ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
           : '_';
  return v;
}

void check_shell_template(const std::string& tmpl, const placeholder_known& known,
                          const std::string& what) {
  scan(
    tmpl, what, [&](const std::string& n) { return known(n); },
    [](const std::string&, bool) { return std::string(); });
}

shell_command expand_shell_template(const std::string& tmpl, const placeholder_lookup& lookup,
                                    const std::string& what) {
  shell_command cmd;
  std::map<std::string, std::string> var_of; // placeholder -> variable
  std::map<std::string, int> taken;          // variable -> uses, to keep names apart
  cmd.script = scan(
    tmpl, what, [&](const std::string& n) { return lookup(n).has_value(); },
    [&](const std::string& name, bool in_double_quotes) {
      auto it = var_of.find(name);
      if (it == var_of.end()) {
        std::string var = placeholder_env_name(name);
        // `payload.a-b` and `payload.a_b` map to one name: number the later ones.
        if (const int n = taken[var]++; n > 0)
          var += "_" + std::to_string(n + 1);
        it = var_of.emplace(name, var).first;
        cmd.env.emplace_back(var, lookup(name).value_or(""));
      }
      // Inside double quotes a bare reference is one word already; elsewhere the quotes keep
      // the shell from splitting the value or expanding globs in it.
      return in_double_quotes ? "${" + it->second + "}" : "\"${" + it->second + "}\"";
    });
  return cmd;
}

} // namespace troupe::jobs
