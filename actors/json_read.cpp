#include "actors/json_read.hpp"

#include <fstream>
#include <vector>

#include "actors/echo.hpp"
#include "actors/errors.hpp"

namespace troupe {

namespace {

using nlohmann::json;

/// A path of more than this many bytes is shown as its start and its end.
constexpr size_t path_bytes_max = 160;

std::string short_path(std::string p) {
  if (p.size() <= path_bytes_max)
    return p;
  return p.substr(0, path_bytes_max / 2) + "…" + p.substr(p.size() - path_bytes_max / 2);
}

/// Builds the document through nlohmann's own DOM builder, keeping the JSON path of the value
/// being read so that every problem names where it is, and refusing to open a container past
/// json_depth_max (the parser then stops: nothing deeper is ever built).
class bounded_sax {
public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  explicit bounded_sax(json& root)
    : dom_(root, false) {}

  // -- values -----------------------------------------------------------------

  bool null() { return done(dom_.null()); }
  bool boolean(bool v) { return done(dom_.boolean(v)); }
  bool number_integer(number_integer_t v) { return done(dom_.number_integer(v)); }
  bool number_unsigned(number_unsigned_t v) { return done(dom_.number_unsigned(v)); }
  bool number_float(number_float_t v, const string_t& s) { return done(dom_.number_float(v, s)); }
  bool string(string_t& v) { return done(dom_.string(v)); }
  bool binary(binary_t& v) { return done(dom_.binary(v)); }

  // -- containers -------------------------------------------------------------

  bool start_object(std::size_t n) { return open(false) && dom_.start_object(n); }
  bool key(string_t& k) {
    frames_.back().key = k;
    frames_.back().keyed = true;
    return dom_.key(k);
  }
  bool end_object() { return close(dom_.end_object()); }
  bool start_array(std::size_t n) { return open(true) && dom_.start_array(n); }
  bool end_array() { return close(dom_.end_array()); }

  // -- errors -----------------------------------------------------------------

  bool parse_error(std::size_t, const std::string& last_token,
                   const nlohmann::detail::exception& ex) {
    std::string what = ex.what();
    // "[json.exception.parse_error.101] parse error at ...": the bracket is for programmers.
    if (auto pos = what.find("] "); what.rfind("[json.exception.", 0) == 0 && pos != what.npos)
      what = what.substr(pos + 2);
    // The last token can be the rest of the file (an unterminated string): cut it.
    if (last_token.size() > echo_chars_max)
      if (auto pos = what.find(last_token); pos != what.npos)
        what.replace(pos, last_token.size(), last_token.substr(0, echo_chars_max) + "…");
    if (ex.id == 406) { // out_of_range.406: a number beyond what a double holds
      const std::string token = last_token.size() > echo_chars_max
                                  ? last_token.substr(0, echo_chars_max) + "…"
                                  : last_token;
      problem_ = "the number " + token +
                 " is out of range (a number must be within about ±1.8e308, what a double "
                 "holds); write a smaller number";
    } else {
      problem_ = "not valid JSON: " + what + "; fix the syntax there";
    }
    return false;
  }

  /// Where the parser stopped, and why (empty when it did not stop early).
  std::string path() const {
    std::string p;
    for (const auto& f : frames_) {
      if (f.array)
        p += "[" + std::to_string(f.index) + "]";
      else if (f.keyed)
        p = join_key(p, f.key);
    }
    return short_path(p);
  }
  const std::string& problem() const noexcept { return problem_; }

private:
  struct frame {
    bool array = false;
    size_t index = 0; ///< arrays: the element being read
    std::string key;  ///< objects: the member being read
    bool keyed = false;
  };

  bool open(bool array) {
    if (frames_.size() >= json_depth_max) {
      problem_ = "nests arrays and objects more than " + std::to_string(json_depth_max) +
                 " levels deep (the limit); flatten it: troupe's files need a few levels";
      return false;
    }
    frames_.push_back(frame{array, 0, {}, false});
    return true;
  }
  bool close(bool ok) {
    frames_.pop_back();
    return done(ok);
  }
  bool done(bool ok) {
    if (!frames_.empty() && frames_.back().array)
      ++frames_.back().index;
    return ok;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::vector<frame> frames_;
  std::string problem_;
};

std::string prefix(const std::string& where, const std::string& path) {
  std::string out = where.empty() ? "" : where + ": ";
  if (!path.empty())
    out += path + ": ";
  return out;
}

} // namespace

json parse_json_bounded(std::string_view text, const std::string& where) {
  if (text.size() > json_bytes_max)
    throw user_error(prefix(where, "") + "is " + std::to_string(text.size()) +
                     " bytes, more than the " + std::to_string(json_bytes_max) +
                     "-byte limit for one JSON document; make it smaller or split it");
  json root;
  bounded_sax sax{root};
  const bool ok = json::sax_parse(text.begin(), text.end(), &sax);
  if (!ok) {
    auto problem =
      sax.problem().empty() ? std::string("not valid JSON; fix the syntax") : sax.problem();
    // The path is taken before `root` goes: it is at most json_depth_max frames.
    throw user_error(prefix(where, sax.path()) + problem);
  }
  return root;
}

json read_json_file(const std::filesystem::path& file, const std::string& what) {
  std::error_code ec;
  std::ifstream in{file, std::ios::binary};
  if (!in || std::filesystem::is_directory(file, ec))
    throw user_error("cannot read " + what + " " + file.string() +
                     ": no such file or not readable; check the path");
  // In chunks, and one byte past the limit at most: /dev/zero or a 50 GB file costs no more
  // than a file at the limit.
  std::string text;
  char chunk[1 << 16];
  while (in && text.size() <= json_bytes_max) {
    in.read(chunk, sizeof chunk);
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  if (in.bad())
    throw user_error("cannot read " + what + " " + file.string() +
                     ": reading failed; check the file");
  if (text.size() > json_bytes_max)
    throw user_error(file.string() + ": is more than the " + std::to_string(json_bytes_max) +
                     "-byte limit for one JSON file; make it smaller or split it");
  return parse_json_bounded(text, file.string());
}

} // namespace troupe
