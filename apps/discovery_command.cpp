// `troupe discovery serve|announce|keygen|online`: the discovery registry
// (services/discovery_*), thin over the library.

#include "apps/commands.hpp"
#include "apps/duration_option.hpp"

#include "actors/errors.hpp"
#include "services/discovery_client.hpp"
#include "services/discovery_server.hpp"
#include "services/ed25519.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

namespace troupe::apps {

namespace {

std::atomic<bool> discovery_stop{false};
void on_discovery_signal(int) { discovery_stop = true; }

void install_signals() {
  std::signal(SIGINT, on_discovery_signal);
  std::signal(SIGTERM, on_discovery_signal);
}

/// "name=value" pairs into a JSON object; `flag` names the option in the error.
nlohmann::json pairs(const std::vector<std::string>& items, const std::string& flag) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : items) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw user_error(flag + " " + s + ": write NAME=VALUE, e.g. " + flag +
                       (flag == "--endpoint" ? " client=127.0.0.1:2379" : " region=eu"));
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
}

/// Sleeps up to `d`, waking early when a signal asks to stop.
void pause_for(std::chrono::nanoseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!discovery_stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

} // namespace

void add_discovery_command(CLI::App& root, int& exit_code) {
  auto* disc = root.add_subcommand(
    "discovery", "The discovery registry: nodes announce themselves (signed), attach lists them");
  disc->require_subcommand(1);

  // -- serve --------------------------------------------------------------------
  auto so = std::make_shared<services::discovery_options>();
  auto* serve = disc->add_subcommand("serve", "Serve the registry (POST /v1/submit, GET "
                                              "/v1/online) until Ctrl-C");
  serve->add_option("--host", so->http.host, "address to listen on")->capture_default_str();
  serve->add_option("--port", so->http.port, "port to listen on (0: any free port)")
    ->capture_default_str();
  serve
    ->add_option("--whitelist", so->whitelist,
                 "file of the public keys allowed to announce ({\"whitelist\": [...]} or "
                 "one a line)")
    ->required();
  serve->add_option("--db", so->db, "SQLite database (kept across restarts)")
    ->capture_default_str();
  serve->callback([so, &exit_code] {
    services::discovery_server server{*so};
    server.start();
    install_signals();
    std::cout << "registry on " << server.url() << std::endl;
    while (!discovery_stop)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server.stop();
    exit_code = 0;
  });

  // -- keygen -------------------------------------------------------------------
  auto key_out = std::make_shared<std::string>();
  auto* keygen = disc->add_subcommand("keygen", "Make an Ed25519 key pair: writes the secret "
                                                "key file, prints the public key (for the "
                                                "whitelist)");
  keygen->add_option("--out", *key_out, "secret key file (written owner-only)")->required();
  keygen->callback([key_out, &exit_code] {
    auto kp = services::ed25519_generate();
    services::write_secret_key(*key_out, kp.secret_b64);
    std::cout << kp.public_b64 << "\n";
    exit_code = 0;
  });

  // -- announce -----------------------------------------------------------------
  struct announce_args {
    std::string url, key, every = "10s";
    std::vector<std::string> endpoints, labels;
    services::announcement a;
    bool once = false;
  };
  auto aa = std::make_shared<announce_args>();
  auto* ann = disc->add_subcommand("announce", "Sign and submit this node to a registry, every "
                                               "--every until Ctrl-C (or --once)");
  ann->add_option("--url", aa->url, "the registry, http://HOST:PORT")->required();
  ann->add_option("--key", aa->key, "secret key file (troupe discovery keygen)")->required();
  ann->add_option("--id", aa->a.id, "the node's id")->required();
  ann->add_option("--program", aa->a.program, "the node's program (e.g. etcd)");
  ann->add_option("--endpoint", aa->endpoints,
                  "NAME=ADDRESS (repeatable), e.g. "
                  "client=127.0.0.1:2379");
  ann->add_option("--label", aa->labels, "NAME=VALUE (repeatable)");
  ann->add_option("--every", aa->every, "interval between submissions")->capture_default_str();
  ann->add_flag("--once", aa->once, "submit once and exit");
  ann->callback([aa, &exit_code] {
    const auto secret = services::read_secret_key(aa->key);
    aa->a.endpoints = pairs(aa->endpoints, "--endpoint");
    aa->a.labels = pairs(aa->labels, "--label");
    const auto every = parse_duration_option("--every", aa->every);
    services::announce_once(aa->url, secret, aa->a); // the first refusal is the user's error
    if (!aa->once) {
      install_signals();
      std::cout << "announcing " << aa->a.id << " to " << aa->url << std::endl;
      while (!discovery_stop) {
        pause_for(every);
        if (discovery_stop)
          break;
        try {
          services::announce_once(aa->url, secret, aa->a);
        } catch (const user_error& e) {
          // A registry restarting is no reason to stop announcing: say so, try again.
          std::cerr << "troupe: " << e.what() << std::endl;
        }
      }
    }
    exit_code = 0;
  });

  // -- online -------------------------------------------------------------------
  auto ourl = std::make_shared<std::string>();
  auto window = std::make_shared<std::string>();
  auto* online = disc->add_subcommand("online", "Print the nodes a registry saw recently (JSON)");
  online->add_option("--url", *ourl, "the registry, http://HOST:PORT")->required();
  online->add_option("--window", *window, "e.g. 30s, 10m (default: the registry's, 10m)");
  online->callback([ourl, window, &exit_code] {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& n : services::fetch_online(*ourl, *window))
      out.push_back(n.to_json());
    std::cout << out.dump(2) << "\n";
    exit_code = 0;
  });
}

} // namespace troupe::apps
