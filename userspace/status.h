// GET /api/v1/status and the `mxsense status` table.
#pragma once

#include "snapshot.h"

#include <string>

namespace mxs {

// JSON: every target with its state, last window's figures and last transition;
// every domain with its effective MX; whether the sensor is blind.
std::string status_json(const HealthSnapshot& h);

// The same as a table for a terminal; "" and an error line on bad input.
std::string status_table(const std::string& json, std::string& error);

} // namespace mxs
