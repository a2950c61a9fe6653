#pragma once
// Text from outside (names, reasons, log lines, evidence, what replay hosts post) put into
// markup: report.html, the dashboards and the replay pages (HTML) and report.junit.xml
// (XML 1.0). One escaping loop serves them all.

#include <string>
#include <string_view>

namespace troupe {

/// Escapes &, <, >, " and ' for HTML text and attribute values; line breaks and tabs stay.
std::string html_escape(std::string_view s);

/// `text` escaped for XML 1.0 character data (`attribute`: for a double-quoted attribute
/// value, where tabs and line breaks are kept as character references). Control characters
/// XML 1.0 cannot carry at all become a visible `\xHH`.
std::string xml_escape(std::string_view text, bool attribute = false);

} // namespace troupe
