#include "store/store_metrics.h"

namespace rq::store {

StoreMetrics& StoreCounters() {
  static StoreMetrics counters;
  return counters;
}

QueueMetrics& QueueCounters() {
  static QueueMetrics counters;
  return counters;
}

ClusterServiceMetrics& ClusterCounters() {
  static ClusterServiceMetrics counters;
  return counters;
}

StoreSeries& Series() {
  static StoreSeries* series = new StoreSeries();  // never destroyed: counted until exit
  return *series;
}

void RegisterMetrics() {
  Series();
  StoreCounters();
  QueueCounters();
  ClusterCounters();
}

}  // namespace rq::store
