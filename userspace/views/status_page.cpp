#include "views/status_page.h"

#include "base/shown.h"

#include <ctime>
#include <fmt/format.h>
#include <numeric>

namespace mxs {

std::string html_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

namespace {

std::string when(std::int64_t unix_time) {
    if (unix_time == 0)
        return "-";
    const std::time_t t = static_cast<std::time_t>(unix_time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return std::string(buf) + " UTC";
}

std::string state_cell(const std::string& state) {
    return fmt::format("<td class=\"state {}\">{}</td>", html_escape(state), html_escape(state));
}

const char kStyle[] = R"(<style>
body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em} h2{font-size:1.1em;margin:1.4em 0 .4em}
.meta{color:#666;font-size:.85em}
table{border-collapse:collapse;background:#fff;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#eee} td.num{text-align:right;font-variant-numeric:tabular-nums}
td.state{font-weight:bold} .HEALTHY{color:#17702a} .DEGRADED{color:#a86400}
.DOWN{color:#b00020} .UNKNOWN{color:#777}
.banner{background:#b00020;color:#fff;padding:.6em 1em;font-weight:bold}
.empty{color:#777;font-style:italic}
</style>)";

// Text from servers (an SMTP reply in a detail) as the page shows it: escaped as in a terminal
// (printable(): no C1 or bidirectional controls to reorder the page) and then for HTML.
std::string shown_html(const std::string& s) {
    return html_escape(printable(s));
}

// The last audit's findings that are not ok (README "Mail-domain audit").
std::string audit_section(const AuditSnapshot& a) {
    std::string o = "<h2>Audit</h2>\n";
    if (!a.enabled)
        return o + "<p class=\"empty\">off (audit.interval 0, or no domains)</p>\n";
    if (a.runs == 0)
        return o + "<p class=\"empty\">not run yet</p>\n";
    std::size_t total = 0;
    std::string rows;
    for (const auto& r : a.reports)
        for (const auto& f : r.findings) {
            ++total;
            if (f.status != AuditStatus::ok)
                rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                    "</tr>\n",
                                    shown_html(r.domain), shown_html(f.check), shown_html(f.target),
                                    status_name(f.status), shown_html(f.detail));
        }
    o += fmt::format("<p>{} finding(s) at {}, in {:.1f} s.</p>\n", total,
                     when(static_cast<std::int64_t>(a.last_run_s)), a.duration_s);
    if (rows.empty())
        return o + "<p class=\"empty\">every check ok</p>\n";
    return o +
           "<table><tr><th>domain</th><th>check</th><th>target</th><th>status</th>"
           "<th>detail</th></tr>\n" +
           rows + "</table>\n";
}

} // namespace

std::string status_html(const Snapshot& s, double refresh_s) {
    const auto& h = s.health;
    std::string o = fmt::format(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"refresh\" content=\"{:g}\"><title>mxsense status</title>{}</head>"
        "<body>\n<h1>mxsense</h1><p class=\"meta\">agent {} &middot; {} &middot; refreshes every "
        "{:g} s &middot; <a href=\"/metrics\">metrics</a> &middot; "
        "<a href=\"/api/v1/status\">status JSON</a></p>\n",
        refresh_s, kStyle, MXS_VERSION, when(std::time(nullptr)), refresh_s);
    if (h.blind)
        o += "<p class=\"banner\">SENSOR BLIND: every target went DOWN in the same window. The "
             "sensor's own network is the likelier fault; no action is taken.</p>\n";

    o += "<h2>Domains</h2>\n";
    if (h.domains.empty()) {
        o += "<p class=\"empty\">no domains configured</p>\n";
    } else {
        o += "<table><tr><th>domain</th><th>effective MX</th><th>failover</th><th>MX hosts (by "
             "preference)</th></tr>\n";
        for (const auto& d : h.domains) {
            std::string hosts;
            for (const auto& m : d.mx)
                hosts += (hosts.empty() ? "" : ", ") + html_escape(m);
            o += fmt::format(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(d.name),
                d.effective_mx ? html_escape(*d.effective_mx)
                               : "none (every MX host DOWN or UNKNOWN)",
                d.failover_active ? "<b>active</b> (to " + html_escape(d.failed_over_to) + ")"
                : d.failover_held.empty() ? "no"
                                          : "<b>held</b>: " + html_escape(d.failover_held),
                hosts.empty() ? "(not discovered yet)" : hosts);
        }
        o += "</table>\n";
    }

    o += "<h2>Targets</h2>\n<table><tr><th>target</th><th>kind</th><th>state</th>"
         "<th>reason</th><th>attempts</th><th>errors</th><th>timeouts</th><th>p99</th>"
         "<th>addresses</th><th>last change</th></tr>\n";
    for (const auto& t : h.targets) {
        std::string addrs;
        for (const auto& a : t.addresses) {
            // Appended piecewise: GCC 12 at -O3 misreads `"" + std::string&&` (-Wrestrict).
            if (!addrs.empty())
                addrs += ' ';
            addrs += html_escape(a);
        }
        o += fmt::format(
            "<tr><td>{}</td><td>{}</td>{}<td class=\"reason\">{}</td><td class=\"num\">{}</td>"
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1f} "
            "ms</td><td>{}</td><td>{}</td></tr>\n",
            html_escape(t.name),
            html_escape(t.role.empty() ? t.kind : t.kind + " (" + t.role + ")"),
            state_cell(state_name(t.state)), html_escape(t.reason), t.last.attempts, t.last.errors,
            t.last.timeouts, t.last.p99_s * 1000, addrs,
            t.last_to.empty()
                ? "-"
                : html_escape(t.last_from + " → " + t.last_to) + ", " + when(t.last_change_unix));
    }
    o += "</table>\n";

    o += "<h2>Recent transitions</h2>\n";
    if (h.recent_transitions.empty()) {
        o += "<p class=\"empty\">none yet</p>\n";
    } else {
        o += "<table><tr><th>time</th><th>target</th><th>kind</th><th>from</th><th>to</th>"
             "<th>reason</th></tr>\n";
        for (auto it = h.recent_transitions.rbegin(); it != h.recent_transitions.rend(); ++it)
            o += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td>{}{}<td>{}</td></tr>\n",
                             when(it->unix_time), html_escape(it->target), html_escape(it->kind),
                             state_cell(it->from), state_cell(it->to), html_escape(it->reason));
        o += "</table>\n";
    }

    o += "<h2>Recent hook runs</h2>\n";
    if (h.recent_hook_runs.empty()) {
        o += "<p class=\"empty\">none yet</p>\n";
    } else {
        o += "<table><tr><th>time</th><th>hook</th><th>event</th><th>attempt</th><th>result</th>"
             "<th>exit</th></tr>\n";
        for (auto it = h.recent_hook_runs.rbegin(); it != h.recent_hook_runs.rend(); ++it)
            o += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>"
                             "<td>{}</td><td class=\"num\">{}</td></tr>\n",
                             when(it->unix_time), html_escape(it->hook), html_escape(it->event),
                             it->attempt, html_escape(it->result), it->exit_status);
        o += "</table>\n";
    }

    o += audit_section(s.audit);

    const auto& sn = s.sensor;
    o += "<h2>Sensor</h2>\n<table><tr><th>interface</th><th>attachments</th><th>packets in</th>"
         "<th>packets out</th></tr>\n";
    for (const auto& i : sn.interfaces) {
        std::string modes;
        for (const auto& a : sn.attachments)
            if (a.interface == i.name)
                modes += (modes.empty() ? "" : ", ") + a.hook + " " + a.mode;
        o += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td>"
                         "<td class=\"num\">{}</td></tr>\n",
                         html_escape(i.name), html_escape(modes), i.packets[MXS_DIR_INGRESS],
                         i.packets[MXS_DIR_EGRESS]);
    }
    o += "</table>\n";
    const auto parse_errors =
        std::accumulate(sn.counters.begin(), sn.counters.end(), std::uint64_t{0});
    o += fmt::format("<table><tr><th>DNS in flight</th><td class=\"num\">{} / {}</td></tr>"
                     "<tr><th>DNS servers tracked</th><td class=\"num\">{} / {}</td></tr>"
                     "<tr><th>SMTP connections tracked</th><td class=\"num\">{} / {}</td></tr>"
                     "<tr><th>sensor events (parse, full maps, retransmissions …)</th>"
                     "<td class=\"num\">{}</td></tr>"
                     "<tr><th>last configuration reload</th><td>{}</td></tr></table>\n",
                     sn.inflight_entries, sn.inflight_capacity, sn.stats_entries, sn.stats_capacity,
                     sn.smtp_flow_entries, sn.smtp_flow_capacity, parse_errors,
                     s.config_reload_ok ? "ok" : "<b>FAILED</b> (the previous configuration runs)");
    o += "</body></html>\n";
    return o;
}

} // namespace mxs
