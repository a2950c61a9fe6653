#include "actors/scenario/scrape.hpp"

#include <cctype>

namespace troupe {

namespace {

bool name_start(char c, bool colon) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (colon && c == ':');
}

bool name_char(char c, bool colon) {
  return name_start(c, colon) || std::isdigit(static_cast<unsigned char>(c));
}

bool valid_name(const std::string& s, bool colon) {
  if (s.empty() || !name_start(s[0], colon))
    return false;
  for (char c : s)
    if (!name_char(c, colon))
      return false;
  return true;
}

void skip_space(const std::string& s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
    ++i;
}

} // namespace

bool valid_metric_name(const std::string& s) { return valid_name(s, true); }

bool valid_label_name(const std::string& s) { return valid_name(s, false); }

std::string series_selector::text() const {
  if (labels.empty())
    return name;
  std::string out = name + "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += (i ? "," : "") + labels[i].first + "=\"";
    for (char c : labels[i].second) {
      if (c == '\\' || c == '"')
        out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::optional<std::string> read_label_value(const std::string& s, size_t& i) {
  if (i >= s.size() || s[i] != '"')
    return std::nullopt;
  std::string value;
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      value += s[i] == 'n' ? '\n' : s[i];
    } else if (s[i] == '"') {
      ++i;
      return value;
    } else {
      value += s[i];
    }
  }
  return std::nullopt;
}

std::optional<series_selector> parse_series_selector(const std::string& text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<series_selector> {
    if (error)
      *error = why;
    return std::nullopt;
  };
  series_selector out;
  size_t i = 0;
  while (i < text.size() && name_char(text[i], true))
    ++i;
  out.name = text.substr(0, i);
  if (!valid_metric_name(out.name))
    return fail("must start with a metric name (letters, digits, '_' and ':', not starting "
                "with a digit), as in etcd_server_proposals_committed_total or "
                "name{label=\"value\"}");
  if (i == text.size())
    return out;
  if (text[i] != '{')
    return fail("unexpected '" + std::string(1, text[i]) +
                "' after the metric name; labels "
                "go in braces: name{label=\"value\"}");
  ++i;
  for (;;) {
    skip_space(text, i);
    if (i < text.size() && text[i] == '}') {
      ++i;
      break;
    }
    size_t start = i;
    while (i < text.size() && name_char(text[i], false))
      ++i;
    auto label = text.substr(start, i - start);
    if (!valid_label_name(label))
      return fail("expected a label name at position " + std::to_string(start) +
                  ": labels are written name{label=\"value\",...}");
    skip_space(text, i);
    if (i >= text.size() || text[i] != '=')
      return fail("expected '=' after label " + label + ": name{label=\"value\"}");
    ++i;
    skip_space(text, i);
    if (i >= text.size() || text[i] != '"')
      return fail("the value of label " + label + " must be in double quotes");
    auto read = read_label_value(text, i);
    if (!read)
      return fail("the value of label " + label + " has no closing quote");
    std::string value = std::move(*read);
    for (auto& l : out.labels)
      if (l.first == label)
        return fail("label " + label + " is given twice");
    out.labels.emplace_back(label, value);
    skip_space(text, i);
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (i < text.size() && text[i] == '}') {
      ++i;
      break;
    }
    return fail("expected ',' or '}' after the value of label " + label);
  }
  if (i != text.size())
    return fail("unexpected text after '}'");
  return out;
}

} // namespace troupe
