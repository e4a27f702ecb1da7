// The kernel/user contract, seen from C++: the shared header plus checks that
// both compilers lay the structs out the same way.
#pragma once

#include <linux/types.h>

extern "C" {
#include "mxsense.h"
}

static_assert(sizeof(mxs_server_key) == 20);
static_assert(sizeof(mxs_dns_flow_key) == 40);
static_assert(sizeof(mxs_dns_slot) == 56);
static_assert(sizeof(mxs_dns_bucket) == 512); // 64 bytes a query in flight
static_assert(sizeof(mxs_if_stats) == 16);
static_assert(sizeof(mxs_smtp_flow_key) == 36);
static_assert(sizeof(mxs_tcp_seq) == 20);
static_assert(sizeof(mxs_smtp_flow) == 72);
static_assert(sizeof(mxs_smtp_expire) == 64);
static_assert(sizeof(mxs_smtp_stats) ==
              8 * (MXS_SMTP_OUTCOME_MAX + 1 + MXS_STARTTLS_MAX + 2 * MXS_SMTP_CODE_MAX + 3));
static_assert(sizeof(mxs_smtp_hist) == 8 * 2 * MXS_HIST_BUCKETS);
static_assert(sizeof(mxs_dns_stats) == 8 * (8 + MXS_RCODE_MAX));
static_assert(sizeof(mxs_dns_swept) == 24);
static_assert(sizeof(mxs_dns_hist) == 8 * MXS_HIST_BUCKETS);
