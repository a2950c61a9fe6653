#include "actors/registry.hpp"

namespace troupe {

registry& registry::global() {
  static registry instance;
  return instance;
}

} // namespace troupe
