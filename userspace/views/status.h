// GET /api/v1/status and the `mxsense status` table.
#pragma once

#include "base/result.h"
#include "views/snapshot.h"

#include <string>

namespace mxs {

/// JSON: every target with its state, last window's figures and last transition; every domain
/// with its effective MX; whether the sensor is blind; the last audit ("audit": enabled, runs,
/// last_run_unix_time, duration_seconds, reports as `mxsense audit --json` prints them).
std::string status_json(const HealthSnapshot& h, const AuditSnapshot& audit = {});

/// The same as a table for a terminal, with the audit's findings that are not ok, one line each
/// as `mxsense audit` prints them; an error naming what is wrong with a document that is not
/// status_json()'s.
Result<std::string> status_table(const std::string& json);

} // namespace mxs
