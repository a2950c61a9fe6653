#pragma once
// The pieces every section of report.html is made of: number and text formatting, the SVG
// chart (a plot area with axes; callers add marks in data coordinates), section headings,
// notes and legends. Internal to report/; the page itself is report/report_html.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report_html.hpp"

namespace troupe::html {

/// The style sheet of report.html and the pages made like it (compare.html, swarm.html).
const char* page_style();

std::string num(double v, int digits = 2);
std::string str(const nlohmann::json& j, const char* key, const std::string& fallback = "");
std::vector<double> numbers(const nlohmann::json& j);
/// j[key], or null when j is not an object or has no such key.
const nlohmann::json& at(const nlohmann::json& j, const char* key);
/// A round step (1, 2, 5 x 10^k) giving about `ticks` ticks over `range`.
double nice_step(double range, int ticks);
const char* fault_color(const std::string& action);
const char* palette(size_t i);
/// The largest finite value of `v`, at least `floor_value`.
double finite_max(const std::vector<double>& v, double floor_value);

std::string section(const std::string& id, const std::string& title, const std::string& body);
std::string note(const std::string& text);
/// Colour swatches with labels: {colour, label}.
std::string legend(const std::vector<std::pair<std::string, std::string>>& items);

// -- charts -------------------------------------------------------------------

/// One SVG chart: a plot area with axes; callers add marks in data coordinates.
class chart {
public:
  chart(double x0, double x1, double y0, double y1, double top_extra = 0)
    : x0_(x0)
    , x1_(x1 > x0 ? x1 : x0 + 1)
    , y0_(y0)
    , y1_(y1 > y0 ? y1 : y0 + 1)
    , mt_(16 + top_extra) {}

  double X(double x) const { return ml_ + (x - x0_) / (x1_ - x0_) * pw(); }
  double Y(double y) const { return mt_ + ph() - (y - y0_) / (y1_ - y0_) * ph(); }
  double pw() const { return w_ - ml_ - mr_; }
  double ph() const { return h_ - mt_ - mb_; }
  double top() const { return mt_; }
  double x0() const { return x0_; }
  double x1() const { return x1_; }

  void add(const std::string& s) { body_ += s; }

  void polyline(const std::vector<double>& xs, const std::vector<double>& ys, const char* color,
                const std::string& title, double width = 1.2) {
    // A NaN (node down, no sample) breaks the line instead of drawing through the gap.
    std::string pts;
    auto flush = [&] {
      if (!pts.empty())
        body_ += "<polyline class=\"series\" fill=\"none\" stroke=\"" + std::string(color) +
                 "\" stroke-width=\"" + num(width, 1) + "\" points=\"" + pts + "\"><title>" +
                 html_escape(title) + "</title></polyline>";
      pts.clear();
    };
    for (size_t i = 0; i < xs.size() && i < ys.size(); ++i) {
      if (!std::isfinite(ys[i])) {
        flush();
        continue;
      }
      pts += num(X(xs[i]), 1) + "," + num(Y(ys[i]), 1) + " ";
    }
    flush();
  }

  void band(const std::vector<double>& xs, const std::vector<double>& lo,
            const std::vector<double>& hi, const char* color, const std::string& title) {
    std::string pts;
    for (size_t i = 0; i < xs.size(); ++i)
      if (std::isfinite(hi[i]))
        pts += num(X(xs[i]), 1) + "," + num(Y(hi[i]), 1) + " ";
    for (size_t i = xs.size(); i-- > 0;)
      if (std::isfinite(lo[i]))
        pts += num(X(xs[i]), 1) + "," + num(Y(lo[i]), 1) + " ";
    if (!pts.empty())
      body_ += "<polygon class=\"band\" fill=\"" + std::string(color) +
               "\" fill-opacity=\"0.25\" stroke=\"none\" points=\"" + pts + "\"><title>" +
               html_escape(title) + "</title></polygon>";
  }

  void vline(double x, const char* color, const std::string& label, int row = 0) {
    body_ += "<line x1=\"" + num(X(x), 1) + "\" x2=\"" + num(X(x), 1) + "\" y1=\"" + num(mt_, 1) +
             "\" y2=\"" + num(mt_ + ph(), 1) + "\" stroke=\"" + color +
             "\" stroke-dasharray=\"4 3\"/>";
    body_ += "<text x=\"" + num(X(x) + 3, 1) + "\" y=\"" + num(mt_ + 12 + 13 * row, 1) +
             "\" class=\"lbl\" fill=\"" + color + "\">" + html_escape(label) + "</text>";
  }

  std::string svg(const std::string& id, const std::string& xlabel,
                  const std::string& ylabel) const {
    std::ostringstream o;
    o << "<svg id=\"" << id << "\" class=\"chart\" width=\"" << w_ << "\" height=\"" << h_
      << "\" viewBox=\"0 0 " << w_ << " " << h_ << "\">";
    o << "<rect x=\"" << ml_ << "\" y=\"" << mt_ << "\" width=\"" << pw() << "\" height=\"" << ph()
      << "\" fill=\"#fcfcfc\" stroke=\"#ccc\"/>";
    const double xs = nice_step(x1_ - x0_, 10), ys = nice_step(y1_ - y0_, 5);
    for (double x = std::ceil(x0_ / xs) * xs; x <= x1_ + 1e-9; x += xs)
      o << "<line x1=\"" << num(X(x), 1) << "\" x2=\"" << num(X(x), 1) << "\" y1=\"" << mt_
        << "\" y2=\"" << mt_ + ph() << "\" class=\"grid\"/><text x=\"" << num(X(x), 1) << "\" y=\""
        << mt_ + ph() + 14 << "\" class=\"tick\" text-anchor=\"middle\">" << num(x, 2) << "</text>";
    for (double y = std::ceil(y0_ / ys) * ys; y <= y1_ + 1e-9; y += ys)
      o << "<line x1=\"" << ml_ << "\" x2=\"" << ml_ + pw() << "\" y1=\"" << num(Y(y), 1)
        << "\" y2=\"" << num(Y(y), 1) << "\" class=\"grid\"/><text x=\"" << ml_ - 4 << "\" y=\""
        << num(Y(y) + 4, 1) << "\" class=\"tick\" text-anchor=\"end\">" << num(y, 3) << "</text>";
    o << body_;
    o << "<text x=\"" << ml_ + pw() / 2 << "\" y=\"" << h_ - 4
      << "\" class=\"axis\" text-anchor=\"middle\">" << html_escape(xlabel) << "</text>";
    o << "<text transform=\"translate(14," << mt_ + ph() / 2
      << ") rotate(-90)\" class=\"axis\" text-anchor=\"middle\">" << html_escape(ylabel)
      << "</text></svg>";
    return o.str();
  }

private:
  double x0_, x1_, y0_, y1_;
  double w_ = 1100, h_ = 300, ml_ = 64, mr_ = 16, mt_, mb_ = 38;
  std::string body_;
};

} // namespace troupe::html
