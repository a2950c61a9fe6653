// `troupe jobs serve|status|retry|token|work`: parses flags, then calls actors/jobs.

#include "apps/commands.hpp"
#include "apps/duration_option.hpp"
#include "apps/seed_option.hpp"

#include "actors/errors.hpp"
#include "jobs/service.hpp"
#include "jobs/workers/workers.hpp"
#include "report/jobs_serve.hpp"

#include <atomic>
#include <csignal>
#include <iostream>
#include <unistd.h>

namespace troupe::apps {

namespace {

std::atomic<bool> stop_requested{false};

void on_serve_signal(int) { stop_requested = true; }

jobs::time_ms to_ms(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

void install_stop_signals() {
  std::signal(SIGINT, on_serve_signal);
  std::signal(SIGTERM, on_serve_signal);
}

} // namespace

void add_jobs_command(CLI::App& root, int& exit_code) {
  auto* jobs = root.add_subcommand("jobs", "Job campaigns: durable queues, pipelines, replay-test "
                                           "compatible HTTP API");
  jobs->require_subcommand(1);

  // -- serve --------------------------------------------------------------------
  auto serve_opts = std::make_shared<jobs::serve_options>();
  auto lease = std::make_shared<std::string>("0");
  auto* serve = jobs->add_subcommand("serve", "Serve the job engine over HTTP (native API under "
                                              "/v1, replay-test protocol with --replay-config)");
  serve
    ->add_option("--db,--store", serve_opts->db,
                 "job store: a SQLite file (created when missing) or a PostgreSQL URL "
                 "postgresql://USER:PASSWORD@HOST:PORT/DB (schema created on first use)")
    ->capture_default_str();
  serve->add_option("--replay-config", serve_opts->replay_config,
                    "replay-test slice config (JSON array); serves that system's protocol");
  serve->add_option("--pipeline", serve_opts->pipelines,
                    "pipeline definition file (repeatable); defines job types and stages");
  serve->add_option("--host", serve_opts->host, "address to listen on")->capture_default_str();
  serve->add_flag("--insecure", serve_opts->insecure,
                  "serve a non-loopback --host although the database holds no token (anyone "
                  "who reaches it may change the campaign)");
  serve->add_option("--port", serve_opts->port, "port to listen on (0: any free port)")
    ->capture_default_str();
  serve->add_option("--lease", *lease,
                    "how long a claimed replay job may stay silent before it goes to TIMEOUT "
                    "and back to the queue: 90s, 10m, or seconds (0: never)");
  auto seed = std::make_shared<std::string>(std::to_string(serve_opts->seed));
  serve->add_option("--seed", *seed, "seed for backoff jitter")->capture_default_str();
  serve
    ->add_option("--metrics-port", serve_opts->metrics_port,
                 "Prometheus /metrics on 127.0.0.1:PORT (0: any free port): jobs by type and "
                 "status, phase latency histograms, requests by route and code")
    ->check(CLI::Range(0, 65535));
  serve
    ->add_option("--serve", serve_opts->dashboard_port,
                 "live dashboard on http://127.0.0.1:PORT/ (0: any free port)")
    ->check(CLI::Range(0, 65535));
  serve->callback([serve_opts, lease, seed, &exit_code] {
    serve_opts->lease_ms = to_ms(parse_duration_option("--lease", *lease, true));
    serve_opts->seed = parse_seed_option("--seed", *seed);
    install_stop_signals();
    serve_opts->should_stop = [] { return stop_requested.load(); };
    serve_opts->on_ready = [](int port) { std::cout << "listening on port " << port << std::endl; };
    serve_opts->on_view = [](const std::string& view, int port) {
      std::cout << view << " on http://127.0.0.1:" << port << (view == "metrics" ? "/metrics" : "/")
                << std::endl;
    };
    jobs::serve(*serve_opts);
    exit_code = exit_pass;
  });

  // -- status -------------------------------------------------------------------
  auto db = std::make_shared<std::string>();
  auto url = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* status = jobs->add_subcommand("status", "Summary of a campaign: counts by status and "
                                                "type, the failure queue, replay summary");
  status->add_option("--db,--store", *db, "read this job database (file or postgresql:// URL)");
  status->add_option("--url", *url, "ask a running server (http://HOST:PORT)");
  status->add_flag("--json", *as_json, "print JSON");
  status->callback([db, url, as_json, &exit_code] {
    if (db->empty() == url->empty())
      throw user_error("troupe jobs status needs exactly one of --db FILE or --url URL");
    auto s = db->empty() ? jobs::status_over_http(*url) : jobs::database_status(*db);
    std::cout << (*as_json ? s.dump(2) + "\n" : jobs::format_status(s));
    exit_code = exit_pass;
  });

  // -- retry --------------------------------------------------------------------
  auto retry_id = std::make_shared<int64_t>(0);
  auto retry_db = std::make_shared<std::string>();
  auto retry_url = std::make_shared<std::string>();
  auto retry_token = std::make_shared<std::string>();
  auto* retry = jobs->add_subcommand("retry", "Send a failed job back to the queue");
  retry->add_option("--token", *retry_token, "admin token, when the server requires tokens")
    ->envname("TROUPE_JOBS_TOKEN");
  retry->add_option("id", *retry_id, "job id (from `troupe jobs status`)")->required();
  retry->add_option(
    "--db,--store", *retry_db,
    "edit this job database: a file (no server running on it) or a postgresql:// URL "
    "(beside the servers sharing it)");
  retry->add_option("--url", *retry_url, "ask a running server (http://HOST:PORT)");
  retry->callback([retry_id, retry_db, retry_url, retry_token, &exit_code] {
    if (retry_db->empty() == retry_url->empty())
      throw user_error("troupe jobs retry needs exactly one of --db FILE or --url URL");
    if (retry_db->empty())
      jobs::retry_over_http(*retry_url, *retry_id, *retry_token);
    else
      jobs::retry_in_database(*retry_db, *retry_id);
    std::cout << "job " << *retry_id << " is waiting for a worker again\n";
    exit_code = exit_pass;
  });

  // -- token --------------------------------------------------------------------
  auto* token = jobs->add_subcommand("token", "Tokens that HTTP clients present");
  token->require_subcommand(1);
  auto token_db = std::make_shared<std::string>("troupe-jobs.db");
  auto token_scope = std::make_shared<std::string>();
  auto* create = token->add_subcommand("create", "Create a token and print it (once: only its "
                                                 "SHA-256 digest is stored)");
  create
    ->add_option("--scope", *token_scope,
                 "worker (claim, heartbeat, complete, verify, "
                 "fail) or admin (also create and retry jobs)")
    ->required();
  create->add_option("--db,--store", *token_db, "the job database `troupe jobs serve` uses")
    ->capture_default_str();
  create->callback([token_db, token_scope, &exit_code] {
    std::cout << jobs::create_token_in_database(*token_db, *token_scope) << "\n";
    exit_code = exit_pass;
  });

  // -- work ---------------------------------------------------------------------
  auto wo = std::make_shared<jobs::remote_worker_options>();
  auto command = std::make_shared<std::string>();
  auto timeout = std::make_shared<std::string>("1h");
  auto* work = jobs->add_subcommand("work", "Run a command worker that claims jobs from a "
                                            "server over HTTP");
  work
    ->add_option("--url", wo->url,
                 "job server; several orchestrators of one campaign comma-separated "
                 "(http://A:4000,http://B:4000): the worker fails over between them")
    ->capture_default_str();
  work->add_option("--type", wo->type, "claim only this job type");
  work->add_option("--worker", wo->worker, "worker name (default: host-pid)");
  work->add_option("--token", wo->token, "worker token, when the server requires tokens")
    ->envname("TROUPE_JOBS_TOKEN");
  work
    ->add_option("--command", *command,
                 "shell command per task; placeholders {id} {type} {key} {phase} {attempt} "
                 "{payload} {payload.FIELD}")
    ->required();
  work
    ->add_option("--timeout", *timeout,
                 "how long a command may run before it is killed: 90s, 10m, or seconds")
    ->capture_default_str();
  work->add_option("--max-jobs", wo->jobs_max, "stop after this many tasks (0: no limit)");
  work->callback([wo, command, timeout, &exit_code] {
    const auto timeout_ms = to_ms(parse_duration_option("--timeout", *timeout));
    jobs::check_command_template(*command, "--command");
    install_stop_signals();
    if (wo->worker.empty()) {
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      wo->worker = std::string(host) + "-" + std::to_string(::getpid());
    }
    wo->should_stop = [] { return stop_requested.load(); };
    wo->on_reported = [](const jobs::task& t, const jobs::work_result&, int status) {
      if (status == 409)
        std::cerr << "job " << t.id << ": the server refused this worker's report (409): its "
                  << "lease was lost, and the job belongs to a newer claim\n";
    };
    const auto n = jobs::run_remote_worker(*wo, jobs::command_worker(*command, timeout_ms));
    std::cout << "ran " << n << " task(s)\n";
    exit_code = exit_pass;
  });
}

} // namespace troupe::apps
