// A scenario built in C++ with ScenarioBuilder and run in the simulator: the same value a JSON
// file gives, run by the same runner. The test suite runs this program (ctest -R example).
//
//   ./build/example_builder [run-directory]

#include <iostream>

#include "actors/runner.hpp"
#include "actors/scenario/builder.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "report/report.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  troupe::register_catalog();
  try {
    auto scenario =
      troupe::ScenarioBuilder::topology_with([](auto& t) {
        t.layout_random(4).link(50ms, 10ms).group("validator", 12).group("observer", 4);
      })
        .named("builder-example")
        .with_seed(2024)
        .transactions_with(5.0)
        .steps_with({{{"at", "1m"}, {"action", "restart"}, {"nodes", {"validator-3"}}}})
        .expect_consensus_liveness(10, 3)
        .expect_convergence(30s)
        .expect_safety()
        .with_run_duration(5min)
        .build();
    troupe::run_request req;
    req.out = argc > 1 ? argv[1] : "runs/builder-example";
    auto result = troupe::run_scenario(scenario, req);
    std::cout << troupe::console_summary(result.report);
    return result.exit_code;
  } catch (const troupe::user_error& e) {
    std::cerr << e.what() << "\n";
    return e.code();
  }
}
