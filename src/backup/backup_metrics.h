// The backup module's maps of /debug/vars, with rqlite's expvar names:
// "uploader" (auto/backup/uploader.go) and "downloader"
// (auto/restore/downloader.go). Building a struct registers its keys at 0.
//
// Thread-safety: see metrics/metrics.h; UploaderCounters() and
// DownloaderCounters() may be called from any thread.
#pragma once

#include "metrics/metrics.h"

namespace rq::backup {

struct UploaderMetrics {
  metrics::Group group{"uploader"};
  metrics::Counter& num_uploads_ok = group.Key("num_uploads_ok");
  metrics::Counter& num_uploads_fail = group.Key("num_uploads_fail");
  // Nothing changed since this node's last upload (same Raft index, or the
  // same sha256 of the bytes to upload).
  metrics::Counter& num_uploads_skipped = group.Key("num_uploads_skipped");
  // A new leader's first round found the storage already holds these bytes
  // (the sum stored with the object matches).
  metrics::Counter& num_uploads_skipped_id = group.Key("num_uploads_skipped_id");
  // Reading the stored sum failed (other than "no object yet").
  metrics::Counter& num_sum_get_fail = group.Key("num_sum_get_fail");
  metrics::Counter& total_upload_bytes = group.Key("total_upload_bytes");
  metrics::Counter& last_upload_bytes = group.Key("last_upload_bytes");  // Set
};
UploaderMetrics& UploaderCounters();

struct DownloaderMetrics {
  metrics::Group group{"downloader"};
  metrics::Counter& num_downloads_ok = group.Key("num_downloads_ok");
  metrics::Counter& num_downloads_fail = group.Key("num_downloads_fail");
  metrics::Counter& download_bytes = group.Key("download_bytes");
};
DownloaderMetrics& DownloaderCounters();

}  // namespace rq::backup
