#include "backends/compose/container_agent.hpp"

#include <thread>

#include "actors/errors.hpp"

namespace troupe::backends::compose {

std::shared_ptr<agent::connection>
connect_container_agent(const container_agent& c, agent::connection::event_handler on_event,
                        std::chrono::steady_clock::time_point deadline,
                        std::chrono::milliseconds budget, const volatile int* interrupted) {
  std::string last;
  for (;;) {
    try {
      agent::tcp_agent_options t;
      t.port = c.port;
      t.token = c.token;
      t.what = c.what;
      t.hello_timeout = std::chrono::seconds(10);
      return agent::connection::start_tcp(t, on_event);
    } catch (const agent::agent_error& e) {
      last = e.what();
      if (last.find("token") != std::string::npos)
        throw user_error(last);
    }
    if (interrupted && *interrupted)
      throw user_error(c.interrupted, 130);
    // Docker publishes the port before the agent inside listens: wait while it starts.
    const auto state = c.state();
    if (state != "running" && state != "created" && state != "restarting")
      throw user_error(c.described + " is " + (state.empty() ? std::string("gone") : state) +
                       " before its agent answered; its output ends: " + c.output_tail());
    if (std::chrono::steady_clock::now() >= deadline)
      throw user_error(c.what + " (container " + c.container + ") did not answer at 127.0.0.1:" +
                       std::to_string(c.port) + " within " + std::to_string(budget.count() / 1000) +
                       " s (" + last + "): raise the backend's start_timeout");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

} // namespace troupe::backends::compose
