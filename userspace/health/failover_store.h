// The state file (config `state_file:`): which domains are failed over, to which backup and
// with which MX order, kept across restarts so that a restarted agent fails back instead of
// failing over again. JSON: {"failed_over": {DOMAIN: {"to": MX, "order": [MX, ...]}}}.
#pragma once

#include "health/health.h"

#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mxs {

class FailoverStore {
  public:
    struct FailedOver {
        std::string to;                 // the backup chosen at failover
        std::vector<std::string> order; // the MX order the switch must not replace
    };

    // Reads `path` ("" keeps nothing). `agent` is the uid the agent runs as after any switch
    // to `user:`: the file and its directory must belong to it or to root (another user could
    // have planted a failover that never happened). A missing file is a first start; an unsafe
    // or unreadable one (not a regular file, over kStateFileLimit, not this JSON) is logged and
    // ignored; save() checks again before every write.
    void load(const std::string& path, uid_t agent);

    // Writes the failed-over domains of `domains` when they changed: a new file renamed over
    // the old (a crash leaves the old state or the new). A failed write is tried again on the
    // next call and logged when its reason changes.
    void save(const std::vector<DomainStatus>& domains);

    // The failed-over domains, from the file at start, then as the last save() saw them.
    const std::map<std::string, FailedOver>& failed_over() const { return failed_over_; }

  private:
    std::string path_;
    std::map<std::string, FailedOver> failed_over_;
    std::string saved_;      // what the file holds
    std::string last_error_; // why the last write failed ("": it did not), logged once
};

} // namespace mxs
