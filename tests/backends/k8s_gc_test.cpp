// `troupe k8s gc`: which namespaces it deletes, decided on recorded `kubectl get namespaces
// -o json` output (no cluster here), and the real call, skipped without one.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/k8s/namespace_gc.hpp"
#include "backends/k8s/utc_time.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"

namespace {

namespace k8s = troupe::backends::k8s;
using nlohmann::json;

json recorded() {
  std::ifstream in{std::filesystem::path(troupe::test::source_dir()) /
                   "tests/backends/data/k8s/namespaces.json"};
  return json::parse(in, nullptr, false);
}

std::string names(const std::vector<k8s::gc_selection::entry>& es) {
  std::string out;
  for (const auto& e : es)
    out += (out.empty() ? "" : " ") + e.name;
  return out;
}

} // namespace

TEST(k8s_gc, deletes_only_troupe_namespaces_whose_expiry_has_passed) {
  const auto now = *k8s::parse_utc_rfc3339("2026-12-02T12:00:00Z");
  auto sel = k8s::select_expired(recorded(), now);
  // kube-system carries an old expiry but no troupe.run label: never judged, never listed.
  EXPECT_EQ(names(sel.expired), "troupe-old-run troupe-just-now");
  EXPECT_EQ(names(sel.kept), "troupe-live-run troupe-going troupe-undated troupe-garbled");
  std::string why;
  for (const auto& e : sel.kept)
    why += e.name + ": " + e.why + "\n";
  EXPECT_NE(why.find("troupe-live-run: expires at 2026-12-02T20:00:00Z"), std::string::npos) << why;
  EXPECT_NE(why.find("troupe-going: already being deleted"), std::string::npos) << why;
  EXPECT_NE(why.find("troupe-undated: has no troupe.dev/expires-at annotation"), std::string::npos)
    << why;
  EXPECT_NE(why.find("troupe-garbled: troupe.dev/expires-at \"tomorrow\" is not an RFC 3339"),
            std::string::npos)
    << why;
  EXPECT_EQ(sel.expired[0].why, "expired at 2026-12-02T10:00:00Z");
}

TEST(k8s_gc, a_second_earlier_nothing_has_expired_but_the_old_run) {
  const auto now = *k8s::parse_utc_rfc3339("2026-12-02T11:59:59Z");
  EXPECT_EQ(names(k8s::select_expired(recorded(), now).expired), "troupe-old-run");
  EXPECT_TRUE(k8s::select_expired(json::object(), now).expired.empty());
  EXPECT_TRUE(k8s::select_expired(json("not a list"), now).expired.empty());
}

TEST(k8s_gc, times_are_rfc3339_utc_both_ways) {
  EXPECT_EQ(k8s::utc_rfc3339(1764700000), "2025-12-02T18:26:40Z");
  EXPECT_EQ(k8s::parse_utc_rfc3339("2025-12-02T18:26:40Z"), 1764700000);
  EXPECT_EQ(k8s::parse_utc_rfc3339("2025-12-02T18:26:40.5Z"), 1764700000);
  EXPECT_FALSE(k8s::parse_utc_rfc3339("2025-12-02T18:26:40+01:00"));
  EXPECT_FALSE(k8s::parse_utc_rfc3339("2025-13-02T18:26:40Z"));
  EXPECT_FALSE(k8s::parse_utc_rfc3339(""));
}

TEST(k8s_gc, on_a_cluster_the_dry_run_lists_and_deletes_nothing) {
  const char* kubeconfig = std::getenv("TROUPE_KUBECONFIG");
  if (!kubeconfig || !*kubeconfig)
    GTEST_SKIP() << "TROUPE_KUBECONFIG names no cluster: troupe k8s gc --dry-run needs an API "
                    "server (the selection is tested above on recorded output)";
  auto r = troupe::test::troupe_cli("k8s gc --dry-run", 120);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("expired namespaces to delete"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("deleting"), std::string::npos) << r.out;
}
