#include "report/html/sections.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "report/html/elements.hpp"

namespace troupe::html {

using nlohmann::json;

std::string jobs_section(const json& r) {
  const auto& jobs = at(r, "jobs");
  if (!jobs.is_object())
    return "";
  std::string body;
  const auto& s = at(jobs, "series");
  const auto t = numbers(at(s, "time_s"));
  const auto& by_status = at(s, "by_status");
  if (t.size() >= 1 && by_status.is_object() && !by_status.empty()) {
    double ymax = 1;
    for (auto it = by_status.begin(); it != by_status.end(); ++it)
      ymax = std::max(ymax, finite_max(numbers(it.value()), 0));
    chart c(t.front(), t.back(), 0, ymax * 1.1);
    std::vector<std::pair<std::string, std::string>> items;
    size_t i = 0;
    for (auto it = by_status.begin(); it != by_status.end(); ++it, ++i) {
      c.polyline(t, numbers(it.value()), palette(i), it.key(), 1.6);
      items.push_back({palette(i), it.key()});
    }
    body += legend(items) + c.svg("chart-jobs", "time (s)", "jobs");
  }
  const auto& phases = at(jobs, "phases");
  if (phases.is_object() && !phases.empty()) {
    double ymax = 0;
    for (auto it = phases.begin(); it != phases.end(); ++it)
      for (const char* k : {"p50", "p90", "p99"})
        if (at(it.value(), k).is_number())
          ymax = std::max(ymax, it.value()[k].get<double>());
    const double n = static_cast<double>(phases.size());
    chart c(0, n, 0, ymax > 0 ? ymax * 1.15 : 1);
    size_t i = 0;
    std::string table = "<table class=\"grid\"><tr><th>phase</th><th>count</th><th>p50</th>"
                        "<th>p90</th><th>p99</th><th>max</th></tr>";
    for (auto it = phases.begin(); it != phases.end(); ++it, ++i) {
      const char* keys[] = {"p50", "p90", "p99"};
      const char* colors[] = {"#2ca02c", "#ff7f0e", "#d62728"};
      for (int k = 0; k < 3; ++k) {
        const double v =
          at(it.value(), keys[k]).is_number() ? it.value()[keys[k]].get<double>() : 0;
        const double x = c.X(static_cast<double>(i) + 0.15 + 0.23 * k);
        const double x2 = c.X(static_cast<double>(i) + 0.15 + 0.23 * (k + 1));
        c.add("<rect class=\"bar\" x=\"" + num(x, 1) + "\" y=\"" + num(c.Y(v), 1) + "\" width=\"" +
              num(x2 - x - 2, 1) + "\" height=\"" + num(c.Y(0) - c.Y(v), 1) + "\" fill=\"" +
              colors[k] + "\"><title>" + html_escape(it.key()) + " " + keys[k] + " " + num(v) +
              " s</title></rect>");
      }
      c.add("<text class=\"lbl\" x=\"" + num(c.X(static_cast<double>(i) + 0.5), 1) + "\" y=\"" +
            num(c.top() + 12, 1) + "\" text-anchor=\"middle\">" + html_escape(it.key()) +
            "</text>");
      table += "<tr><td>" + html_escape(it.key()) + "</td><td>" + str(it.value(), "count", "–") +
               "</td><td>" + str(it.value(), "p50", "–") + "</td><td>" +
               str(it.value(), "p90", "–") + "</td><td>" + str(it.value(), "p99", "–") +
               "</td><td>" + str(it.value(), "max", "–") + "</td></tr>";
    }
    body += legend({{"#2ca02c", "p50"}, {"#ff7f0e", "p90"}, {"#d62728", "p99"}}) +
            c.svg("chart-job-phases", "phase", "seconds") + table + "</table>";
  }
  if (body.empty())
    body = note("The jobs section holds no series or phases.");
  return section("jobs", "Jobs", body);
}
} // namespace troupe::html
