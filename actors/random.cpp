#include "actors/random.hpp"

#include <cmath>

namespace troupe {

double rng::normal() noexcept {
  double u1 = uniform01();
  if (u1 <= 0.0)
    u1 = 0x1.0p-53; // log(0) guard; reached once in 2^53 draws
  const double u2 = uniform01();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

} // namespace troupe
