#include "layers/cache/cache_service.hpp"

#include "admin/metrics.hpp"

namespace levee::layers::cache {

void CacheCounters::count(admin::Counter* counter) const noexcept {
  if (counter != nullptr) counter->inc();
}

}  // namespace levee::layers::cache
