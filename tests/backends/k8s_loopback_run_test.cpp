// `troupe run` on the k8s backend up to the API boundary: kubectl is a script that plays the
// cluster on this machine (each "pod" a real `troupe agent --listen` on 127.0.0.2-6, started
// when troupe applies the objects, with the token troupe put in the Secret), so everything
// troupe does is real but the API server: the calls it makes in order (version, one
// server-side apply, a wait per StatefulSet, the pods' addresses, the namespace deleted), the
// agents reached over TCP with the token, five real litecoind nodes run through them, and
// teardown on success and on a failed wait; the pods' node-side commands reach the run's sync
// service through their agents' reverse tunnels. The same run on a real cluster is k8s_run.*.

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using troupe::test::shell_quote;

const std::vector<std::string> pods = {"miner-0", "miner-1", "miner-2", "observer-0", "observer-1"};

json read_json(const fs::path& p) {
  std::ifstream in{p};
  return json::parse(in, nullptr, false);
}

/// `kubectl get pods -o json` of the loopback "cluster"; `unready`: observer-1 cannot pull
/// its image.
json pod_list(bool unready) {
  json items = json::array();
  for (size_t i = 0; i < pods.size(); ++i) {
    json pod{{"metadata", {{"name", pods[i]}, {"uid", "uid-" + pods[i] + "-1"}}},
             {"status",
              {{"podIP", "127.0.0." + std::to_string(i + 2)},
               {"conditions", json::array({json{{"type", "Ready"}, {"status", "True"}}})}}}};
    if (unready && pods[i] == "observer-1") {
      pod["status"]["conditions"][0]["status"] = "False";
      pod["status"]["containerStatuses"] =
        json::array({json{{"state",
                           {{"waiting",
                             {{"reason", "ErrImagePull"},
                              {"message", "troupe/litecoin-regtest:latest not found"}}}}}}});
    }
    items.push_back(pod);
  }
  return json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

/// The kubectl script: logs each call to DIR/calls.log and answers as a cluster would.
/// Each pod's own `kubectl get pod` answer is DIR/pod-NAME.json; the pod its StatefulSet makes
/// after a deletion (DIR/pod-NAME.after.json) is at 127.0.0.7 onwards, with a new uid.
fs::path fake_kubectl(const fs::path& dir, uint16_t port, bool wait_fails) {
  const auto list = pod_list(wait_fails);
  std::ofstream{dir / "pods.json"} << list.dump();
  for (size_t i = 0; i < pods.size(); ++i) {
    auto pod = list["items"][i];
    std::ofstream{dir / ("pod-" + pods[i] + ".json")} << pod.dump();
    const auto after = "127.0.0." + std::to_string(i + 7);
    pod["metadata"]["uid"] = "uid-" + pods[i] + "-2";
    pod["status"]["podIP"] = after;
    std::ofstream{dir / ("pod-" + pods[i] + ".after.json")} << pod.dump();
    std::ofstream{dir / (pods[i] + ".after.address")} << after;
  }
  std::string starts;
  for (size_t i = 0; i < pods.size(); ++i)
    starts += "    " + shell_quote(troupe::test::troupe_binary()) + " agent --listen 127.0.0." +
              std::to_string(i + 2) + ":" + std::to_string(port) + " --token-file \"$D/token\" " +
              "--log-file \"$D/" + pods[i] + ".agent.log\" </dev/null >/dev/null 2>&1 &\n" +
              "    echo $! >> \"$D/agent.pids\"; echo $! > \"$D/" + pods[i] + ".pid\"\n";
  std::string ready;
  for (const auto& p : pods)
    ready += "    n=0; until grep -q 'listening on' \"$D/" + p +
             ".agent.log\" 2>/dev/null || [ $n -ge 300 ]; do sleep 0.1; n=$((n+1)); done\n";
  // A replacement pod is Ready once its agent listens.
  ready += "    for f in \"$D\"/*.replacement.agent.log; do [ -e \"$f\" ] || continue; n=0; "
           "until grep -q 'listening on' \"$f\" || [ $n -ge 300 ]; do sleep 0.1; "
           "n=$((n+1)); done; done\n";
  const auto script = dir / "kubectl";
  std::ofstream{script}
    << "#!/bin/sh\nD=" << shell_quote(dir.string()) << "\n"
    << "echo \"$*\" >> \"$D/calls.log\"\n"
    << "case \"$*\" in\n"
    << "  *'get --raw /version'*) echo '{\"major\": \"1\", \"minor\": \"32\"}' ;;\n"
    << "  *'apply --server-side'*)\n"
    << "    for a; do last=$a; done\n"
    << "    sed -n 's/.*\"token\": \"\\([0-9a-f]*\\)\".*/\\1/p' "
       "\"$last\"/01-secret-troupe-agent-token.json > \"$D/token\"\n"
    << starts << "    ;;\n"
    << "  'wait '*)\n"
    << (wait_fails ? "    echo 'error: timed out waiting for the condition on "
                     "statefulsets/observer' >&2; exit 1\n"
                   : ready)
    << "    ;;\n"
    << "  *'get pods'*) cat \"$D/pods.json\" ;;\n"
    << "  'get pod '*) cat \"$D/pod-$3.json\" ;;\n"
    // A forced deletion: the kubelet kills the pod's containers at once (the agent, and the
    // node with it); the StatefulSet makes the pod again, at a new address, with a new uid
    // and an empty emptyDir.
    << "  'delete pod '*) kill -9 $(cat \"$D/$3.pid\")\n"
    << "    cp \"$D/pod-$3.after.json\" \"$D/pod-$3.json\"; rm -rf \"$D/pods/nodes\"/$3*\n"
    << "    " << shell_quote(troupe::test::troupe_binary())
    << " agent --listen \"$(cat \"$D/$3.after.address\"):" << port
    << "\" --token-file \"$D/token\" --log-file \"$D/$3.replacement.agent.log\" </dev/null "
       ">/dev/null 2>&1 &\n"
    << "    echo $! >> \"$D/agent.pids\" ;;\n"
    // Deleting the namespace ends its pods: their agents.
    << "  *'delete namespace'*) kill $(cat \"$D/agent.pids\") 2>/dev/null; : ;;\n"
    << "  *) echo \"unexpected call: kubectl $*\" >&2; exit 1 ;;\n"
    << "esac\n";
  fs::permissions(script, fs::perms::owner_all);
  return script;
}

/// litecoin-k8s.json, shorter, with the fake kubectl and the pods' files under `dir`.
fs::path scenario(const fs::path& dir, const fs::path& kubectl, uint16_t port) {
  std::ifstream in{fs::path(troupe::test::source_dir()) / "scenarios/litecoin-k8s.json"};
  auto s = json::parse(in);
  s["duration"] = "45s";
  s["backend"]["kubectl"] = kubectl.string();
  s["backend"]["agent_port"] = port;
  s["backend"]["pod_dir"] = (dir / "pods").string();
  s["workloads"][1]["steps"][0]["at"] = "20s";
  // The pods' commands meet at a barrier of the run's sync service, which they reach through
  // their agents' reverse tunnels (a pod cannot dial troupe's 127.0.0.1).
  s["workloads"].push_back(
    {{"kind", "commands"},
     {"commands",
      json::array({{{"name", "meet"},
                    {"nodes", "all"},
                    {"at", "5s"},
                    {"timeout", "40s"},
                    {"run", "\"$TROUPE_BIN\" sync barrier met 5 --timeout 30s && echo {id} met at "
                            "$TROUPE_SYNC_URL"}}})}});
  s["expectations"] = json::array(
    {json{{"kind", "consensus_liveness"}, {"min_height", 110}, {"max_lag", 3}, {"min_growth", 5}},
     json{{"kind", "convergence"}, {"within", "30s"}},
     json{{"kind", "tx_inclusion"}, {"min_ratio", 0.9}, {"exclude_last", "15s"}}});
  const auto file = dir / "litecoin-k8s-loopback.json";
  std::ofstream{file} << s.dump(2);
  return file;
}

/// The scenario above with "kill": "delete_pod" and two steps: observer-1 killed at
/// `kill_at`, started at `start_at`; no commands. `s` gets it, to change before writing it.
fs::path delete_pod_scenario(const fs::path& dir, const std::string& duration,
                             const std::string& kill_at, const std::string& start_at, json& s) {
  const auto port = static_cast<uint16_t>(troupe::test::free_port());
  const auto file = scenario(dir, fake_kubectl(dir, port, false), port);
  s = read_json(file);
  s["duration"] = duration;
  s["backend"]["kill"] = "delete_pod";
  s["workloads"][1]["steps"] =
    json::array({{{"at", kill_at}, {"action", "kill"}, {"nodes", {"observer-1"}}},
                 {{"at", start_at}, {"action", "start"}, {"nodes", {"observer-1"}}}});
  s["workloads"].erase(2);
  return file;
}

std::vector<std::string> lines(const fs::path& p) {
  std::ifstream in{p};
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

/// Waits (bounded) until no agent the script started runs; the PIDs still running (killed).
std::vector<int> agents_left(const fs::path& dir) {
  std::vector<int> pids;
  for (const auto& l : lines(dir / "agent.pids"))
    pids.push_back(std::stoi(l));
  std::vector<int> left;
  troupe::test::wait_until(
    [&] {
      left.clear();
      for (int p : pids)
        if (::kill(p, 0) == 0)
          left.push_back(p);
      return left.empty();
    },
    30s, 100ms);
  for (int p : left)
    ::kill(p, SIGKILL);
  return left;
}

bool litecoind_installed() { return troupe::test::shell("command -v litecoind", 10).code == 0; }

troupe::test::shell_outcome run(const fs::path& file, const fs::path& out) {
  // Not the developer's cluster: only the script answers.
  return troupe::test::shell("env -u TROUPE_KUBECONFIG " +
                               shell_quote(troupe::test::troupe_binary()) + " run " +
                               shell_quote(file.string()) + " --out " + shell_quote(out.string()),
                             240, troupe::test::source_dir());
}

} // namespace

TEST(k8s_loopback_run, litecoin_runs_through_five_pod_agents_and_the_namespace_is_deleted) {
  if (!litecoind_installed())
    GTEST_SKIP() << "litecoind is not installed (scripts/setup.sh installs it)";
  const auto dir = troupe::test::fresh_dir("k8s-loopback");
  const auto port = static_cast<uint16_t>(troupe::test::free_port());
  const auto file = scenario(dir, fake_kubectl(dir, port, false), port);
  auto r = run(file, dir / "run");
  EXPECT_EQ(r.code, 0) << r.out;
  const auto report = read_json(dir / "run" / "report.json");
  ASSERT_TRUE(report.is_object()) << r.out;
  EXPECT_EQ(report["verdict"], "pass") << report["expectations"].dump(2);
  const auto& k = report["k8s"];
  const auto ns = k.value("namespace", std::string{});
  // The run directory's name and a random suffix.
  EXPECT_EQ(ns.rfind("troupe-run-", 0), 0u) << k.dump();
  EXPECT_EQ(ns.size(), std::string("troupe-run-").size() + 8) << k.dump();
  EXPECT_EQ(k["namespace_deleted"], true) << k.dump();
  ASSERT_EQ(k["pods"].size(), 5u) << k.dump();
  EXPECT_EQ(k["pods"][3],
            (json{{"name", "observer-0"}, {"address", "127.0.0.5"}, {"node", "observer-0"}}));
  // All five met, each through its own pod's agent.
  size_t met = 0;
  for (const auto& c : report["commands"]) {
    EXPECT_EQ(c["exit_code"], 0) << c.dump();
    met += c["tail"].get<std::string>().find(c["node"].get<std::string>() +
                                             " met at http://127.0.0.1:") != std::string::npos;
  }
  EXPECT_EQ(met, 5u) << report["commands"].dump(2);
  ASSERT_EQ(k["reverse_tunnels"].size(), 5u) << k.dump(2);
  for (const auto& t : k["reverse_tunnels"])
    EXPECT_GE(t["tunnels"]["opened"].get<int>(), 1) << t.dump();

  // The calls, in order: one apply for the run, a watch per StatefulSet, one list, one delete.
  const auto calls = lines(dir / "calls.log");
  const std::vector<std::string> want = {
    "--request-timeout=10s get --raw /version",
    "apply --server-side --field-manager=troupe -f " + (dir / "run" / "k8s").string(),
    "wait -n " + ns + " --for=jsonpath={.status.readyReplicas}=3 statefulset/miner",
    "wait -n " + ns + " --for=jsonpath={.status.readyReplicas}=2 statefulset/observer",
    "get pods -n " + ns + " -l troupe.run=" + ns.substr(7) + " -o json",
    "delete namespace " + ns + " --wait=false --ignore-not-found"};
  ASSERT_EQ(calls.size(), want.size()) << troupe::test::file_text(dir / "calls.log");
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(calls[i].rfind(want[i], 0), 0u) << calls[i] << "\nwanted: " << want[i];
  // What was applied is on file; each node's log stayed in its "pod", its tail is here.
  size_t objects = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "run" / "k8s"))
    ++objects;
  EXPECT_EQ(objects, 8u);
  EXPECT_TRUE(fs::exists(dir / "pods" / "nodes" / "miner-0.log"));
  EXPECT_NE(troupe::test::file_text(dir / "run" / "nodes" / "miner-0.log").find("UpdateTip"),
            std::string::npos);
  // Each agent stopped its node when troupe's connection ended, before the namespace went.
  for (const auto& p : pods)
    EXPECT_NE(troupe::test::file_text(dir / (p + ".agent.log"))
                .find("stopped (every node and relay it started)"),
              std::string::npos)
      << p;
  EXPECT_TRUE(agents_left(dir).empty()) << "agents still running after the run";
}

// "kill": "delete_pod": a kill deletes the node's pod (forced, no grace), which takes its
// agent and its node at once; the StatefulSet makes the pod again at a new address, and the
// start that follows takes it: its agent, the node's settings for the new address, its link
// relays made again there and the other pods' relays to it pointed there. The node starts
// with an empty data directory and catches up from its peers.
TEST(k8s_loopback_run, a_pod_deleted_by_a_kill_is_replaced_and_its_node_starts_again_there) {
  if (!litecoind_installed())
    GTEST_SKIP() << "litecoind is not installed (scripts/setup.sh installs it)";
  const auto dir = troupe::test::fresh_dir("k8s-loopback-delete-pod");
  json s;
  const auto file = delete_pod_scenario(dir, "45s", "12s", "18s", s);
  s["expectations"] =
    json::array({json{{"kind", "safety"}},
                 json{{"kind", "consensus_liveness"}, {"min_growth", 3}, {"max_lag", 3}},
                 json{{"kind", "convergence"}, {"within", "20s"}}});
  std::ofstream{file} << s.dump(2);
  auto r = run(file, dir / "run");
  EXPECT_EQ(r.code, 0) << r.out;
  const auto report = read_json(dir / "run" / "report.json");
  ASSERT_TRUE(report.is_object()) << r.out;
  EXPECT_EQ(report["verdict"], "pass") << report["expectations"].dump(2);
  const auto& k = report["k8s"];
  const auto ns = k.value("namespace", std::string{});
  EXPECT_EQ(k["deleted_pods"], json::array({{{"pod", "observer-1"}, {"node", "observer-1"}}}))
    << k.dump(2);
  EXPECT_EQ(
    k["adopted_pods"],
    json::array({{{"pod", "observer-1"}, {"node", "observer-1"}, {"address", "127.0.0.11"}}}))
    << k.dump(2);
  const auto calls = troupe::test::file_text(dir / "calls.log");
  EXPECT_NE(calls.find("delete pod observer-1 -n " + ns + " --force --grace-period=0 --wait=false"),
            std::string::npos)
    << calls;
  EXPECT_NE(calls.find("get pod observer-1 -n " + ns + " -o json"), std::string::npos) << calls;
  // Its four relays (a mesh of five) made again in the new pod; the four pointing to it, each
  // in another pod, now dial its new address.
  ASSERT_EQ(report["adopted_hosts"].size(), 1u) << report.dump(2);
  const auto& adopted = report["adopted_hosts"][0];
  EXPECT_EQ(adopted["address"], "127.0.0.11") << adopted.dump();
  EXPECT_EQ(adopted["nodes"], json::array({"observer-1"})) << adopted.dump();
  EXPECT_EQ(adopted["relays_made_again"], 4) << adopted.dump();
  EXPECT_EQ(adopted["relays_pointed_here"], 4) << adopted.dump();
  // The kill, ended by the start (nothing refused); the node ran again and caught up with
  // the others from no blocks at all (consensus liveness and convergence above).
  ASSERT_EQ(report["faults"].size(), 1u) << report["faults"].dump();
  const auto& kill = report["faults"][0];
  EXPECT_EQ(kill["action"], "kill") << kill.dump();
  EXPECT_GE(kill.value("end_s", 0.0), 18.0) << kill.dump();
  EXPECT_TRUE(report["refusals"].empty()) << report["refusals"].dump(2);
  // The old agent died with its pod (no orderly stop); the new one stopped in order.
  EXPECT_EQ(troupe::test::file_text(dir / "observer-1.agent.log")
              .find("stopped (every node and relay it started)"),
            std::string::npos);
  EXPECT_NE(troupe::test::file_text(dir / "observer-1.replacement.agent.log")
              .find("stopped (every node and relay it started)"),
            std::string::npos);
  EXPECT_TRUE(agents_left(dir).empty()) << "agents still running after the run";
}

// A pod whose node a peer dials directly (no link relays) cannot move to a new address:
// the start after its deletion is refused, saying why, and the node stays down.
TEST(k8s_loopback_run, a_deleted_pod_without_relays_is_not_adopted_and_says_why) {
  if (!litecoind_installed())
    GTEST_SKIP() << "litecoind is not installed (scripts/setup.sh installs it)";
  const auto dir = troupe::test::fresh_dir("k8s-loopback-delete-pod-direct");
  json s;
  const auto file = delete_pod_scenario(dir, "25s", "8s", "12s", s);
  s["backend"]["fabric"] = false;
  s["expectations"] = json::array({json{{"kind", "safety"}}});
  std::ofstream{file} << s.dump(2);
  auto r = run(file, dir / "run");
  EXPECT_EQ(r.code, 0) << r.out;
  const auto report = read_json(dir / "run" / "report.json");
  ASSERT_TRUE(report.is_object()) << r.out;
  EXPECT_FALSE(report["k8s"].contains("adopted_pods")) << report["k8s"].dump(2);
  bool refused = false;
  for (const auto& f : report["refusals"])
    refused = refused || f.dump().find("dials its old address directly") != std::string::npos;
  EXPECT_TRUE(refused) << report["refusals"].dump(2);
  EXPECT_TRUE(agents_left(dir).empty()) << "agents still running after the run";
}

TEST(k8s_loopback_run, pods_not_ready_are_one_sentence_and_the_namespace_is_still_deleted) {
  if (!litecoind_installed())
    GTEST_SKIP() << "litecoind is not installed (scripts/setup.sh installs it)";
  const auto dir = troupe::test::fresh_dir("k8s-loopback-unready");
  const auto port = static_cast<uint16_t>(troupe::test::free_port());
  const auto file = scenario(dir, fake_kubectl(dir, port, true), port);
  auto r = run(file, dir / "run");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("the pods of group miner (StatefulSet miner in namespace troupe-run-"),
            std::string::npos)
    << r.out;
  EXPECT_NE(r.out.find("are not all Ready (kubectl wait, 600 s: error: timed out waiting for the "
                       "condition on statefulsets/observer)"),
            std::string::npos)
    << r.out;
  EXPECT_NE(r.out.find("pod observer-1 is not Ready (waiting: ErrImagePull "
                       "(troupe/litecoin-regtest:latest not found))"),
            std::string::npos)
    << r.out;
  const auto calls = troupe::test::file_text(dir / "calls.log");
  EXPECT_NE(calls.find("delete namespace troupe-"), std::string::npos) << calls;
  EXPECT_TRUE(agents_left(dir).empty());
}
