// `troupe sync serve|signal|count|barrier|publish|subscribe`: the sync service for scripts
// (services/sync_client), and a standalone service for scripts run outside a troupe run.

#include "apps/commands.hpp"
#include "apps/duration_option.hpp"

#include "actors/errors.hpp"
#include "actors/sync_actor.hpp"
#include "jobs/bounded_json.hpp"
#include "services/sync_client.hpp"
#include "services/sync_http.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include <caf/all.hpp>

namespace troupe::apps {

namespace {

std::atomic<bool> sync_stop{false};
void on_sync_signal(int) { sync_stop = true; }

std::chrono::milliseconds to_ms(const std::string& flag, const std::string& text) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(parse_duration_option(flag, text));
}

void serve(const std::string& host, int port) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto sync = spawn_sync(sys, nullptr);
  services::sync_http_options o;
  o.http.host = host;
  o.http.port = port;
  {
    services::sync_http_server server{sys, sync, o};
    std::signal(SIGINT, on_sync_signal);
    std::signal(SIGTERM, on_sync_signal);
    std::cout << "sync service on " << server.url() << std::endl;
    while (!sync_stop)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  caf::anon_send_exit(sync, caf::exit_reason::user_shutdown);
}

} // namespace

void add_sync_command(CLI::App& root, int& exit_code) {
  auto* sync = root.add_subcommand(
    "sync", "Barriers, signals and topics of a run's sync service (URL: --url or $" +
              std::string(sync_url_env) + ", which a live run sets for node-side commands)");
  sync->require_subcommand(1);
  auto url = std::make_shared<std::string>();
  auto timeout = std::make_shared<std::string>("10m");
  auto add_url = [&](CLI::App* c) {
    c->add_option("--url", *url,
                  "the sync service, http://127.0.0.1:PORT (default: $" +
                    std::string(sync_url_env) + ")");
  };

  auto host = std::make_shared<std::string>("127.0.0.1");
  auto port = std::make_shared<int>(0);
  auto* srv = sync->add_subcommand("serve", "Serve a sync service on its own (until Ctrl-C)");
  srv->add_option("--host", *host, "address to listen on")->capture_default_str();
  srv->add_option("--port", *port, "port to listen on (0: any free port)")->capture_default_str();
  srv->callback([=, &exit_code] {
    serve(*host, *port);
    exit_code = 0;
  });

  auto name = std::make_shared<std::string>();
  auto* sig = sync->add_subcommand("signal", "Signal entry into a state; prints its seq");
  sig->add_option("STATE", *name, "the state")->required();
  add_url(sig);
  sig->callback([=, &exit_code] {
    std::cout << services::sync_client{*url}.signal_entry(*name) << "\n";
    exit_code = 0;
  });

  auto* cnt = sync->add_subcommand("count", "Print how many entries a state has");
  cnt->add_option("STATE", *name, "the state")->required();
  add_url(cnt);
  cnt->callback([=, &exit_code] {
    std::cout << services::sync_client{*url}.count(*name) << "\n";
    exit_code = 0;
  });

  auto target = std::make_shared<uint64_t>(0);
  auto wait_only = std::make_shared<bool>(false);
  auto* bar = sync->add_subcommand("barrier", "Signal entry into STATE, then wait until it has "
                                              "N entries (Testground's signal_and_wait); "
                                              "prints this entry's seq");
  bar->add_option("STATE", *name, "the state")->required();
  bar->add_option("N", *target, "entries to wait for")->required();
  bar->add_flag("--no-signal", *wait_only, "only wait (Testground's barrier): do not enter");
  bar->add_option("--timeout", *timeout, "give up after this long (exit 2)")->capture_default_str();
  add_url(bar);
  bar->callback([=, &exit_code] {
    services::sync_client c{*url};
    const auto limit = to_ms("--timeout", *timeout);
    if (*wait_only)
      std::cout << c.barrier(*name, *target, limit) << "\n";
    else
      std::cout << c.signal_and_wait(*name, *target, limit) << "\n";
    exit_code = 0;
  });

  auto payload = std::make_shared<std::string>();
  auto* pub = sync->add_subcommand("publish", "Publish a JSON payload on a topic; prints its seq");
  pub->add_option("TOPIC", *name, "the topic")->required();
  pub->add_option("JSON", *payload, "the payload (any JSON value)")->required();
  add_url(pub);
  pub->callback([=, &exit_code] {
    std::string why;
    auto v = jobs::parse_json_bounded(*payload, why);
    if (!v)
      throw user_error("publish: the payload is not JSON (" + why +
                       "); quote it, e.g. '{\"key\": 1}' or '\"text\"'");
    std::cout << services::sync_client{*url}.publish(*name, *v) << "\n";
    exit_code = 0;
  });

  auto from = std::make_shared<uint64_t>(1);
  auto count = std::make_shared<uint64_t>(1);
  auto* sub = sync->add_subcommand("subscribe", "Print a topic's payloads, one JSON line each, "
                                                "from --from on, until --count were printed");
  sub->add_option("TOPIC", *name, "the topic")->required();
  sub->add_option("--from", *from, "the first seq to print")->capture_default_str();
  sub->add_option("--count", *count, "payloads to print before exiting")->capture_default_str();
  sub->add_option("--timeout", *timeout, "give up after this long (exit 2)")->capture_default_str();
  add_url(sub);
  sub->callback([=, &exit_code] {
    services::sync_client c{*url};
    const auto deadline = std::chrono::steady_clock::now() + to_ms("--timeout", *timeout);
    uint64_t next = *from, printed = 0;
    while (printed < *count) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      auto got = left.count() > 0 ? c.subscribe(*name, next, left) : std::vector<nlohmann::json>{};
      if (got.empty())
        throw user_error("topic \"" + *name + "\": " + std::to_string(printed) + " of " +
                         std::to_string(*count) +
                         " payloads arrived in time; raise --timeout or check the publishers");
      for (const auto& p : got) {
        if (printed == *count)
          break;
        std::cout << p.dump() << "\n" << std::flush;
        ++printed;
        ++next;
      }
    }
    exit_code = 0;
  });
}

} // namespace troupe::apps
