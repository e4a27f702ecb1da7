#include "views/process_metrics.h"

#include "views/metrics_parts.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <dirent.h>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace mxs {

namespace {

// Fields of /proc/PID/stat (proc(5), numbered from 1) counted from field 3, the first after the
// command name.
constexpr std::size_t kFirstAfterComm = 3;
constexpr std::size_t kUtime = 14, kStime = 15, kStarttime = 22, kVsize = 23, kRss = 24;

double soft_limit(int resource) {
    rlimit r{};
    if (getrlimit(resource, &r) != 0)
        return 0;
    return static_cast<double>(r.rlim_cur); // RLIM_INFINITY: 2^64 - 1, as client_golang
}

// The boot time (seconds since the epoch) from /proc/stat's "btime" line.
Result<double> boot_time() {
    std::ifstream in("/proc/stat");
    if (!in)
        return Error{fmt::format("/proc/stat: cannot read it: {}", std::strerror(errno))};
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("btime ", 0) != 0)
            continue;
        long long t = 0;
        const char* b = line.data() + 6;
        const char* e = line.data() + line.size();
        if (std::from_chars(b, e, t).ec != std::errc())
            return Error{fmt::format("/proc/stat: btime is no number: '{}'", line)};
        return static_cast<double>(t);
    }
    return Error{"/proc/stat: no btime line"};
}

// Descriptors open in this process: the entries of /proc/self/fd but the one listing them.
std::optional<double> open_fds() {
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc/self/fd"), closedir);
    if (!dir)
        return std::nullopt;
    const int own = dirfd(dir.get());
    double n = 0;
    while (const dirent* e = readdir(dir.get())) {
        int fd = -1;
        const char* end = e->d_name + std::strlen(e->d_name);
        if (std::from_chars(e->d_name, end, fd).ptr == end && fd != own)
            ++n; // "." and ".." are no numbers
    }
    return n;
}

} // namespace

Result<ProcessStats> parse_proc_stat(std::string_view line, double clock_ticks_per_s,
                                     double page_bytes) {
    const auto comm_end = line.rfind(')');
    if (comm_end == std::string_view::npos)
        return Error{"no command name in parentheses"};
    std::string_view rest = line.substr(comm_end + 1);
    // field number -> its text, for the fields taken
    std::string_view fields[kRss + 1];
    std::size_t n = kFirstAfterComm;
    while (n <= kRss) {
        const auto start = rest.find_first_not_of(" \n");
        if (start == std::string_view::npos)
            break;
        rest = rest.substr(start);
        const auto end = rest.find_first_of(" \n");
        fields[n++] = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    }
    if (n <= kRss)
        return Error{fmt::format("{} fields, {} expected at least", n - 1, kRss)};
    auto number = [&](std::size_t f) -> std::optional<double> {
        long long v = 0;
        const auto text = fields[f];
        const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
        if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v < 0)
            return std::nullopt;
        return static_cast<double>(v);
    };
    ProcessStats p;
    double stime = 0;
    const double tick = 1 / clock_ticks_per_s;
    const struct {
        std::size_t field;
        double* to;
        double scale;
    } taken[] = {{kUtime, &p.cpu_seconds, tick},
                 {kStime, &stime, tick},
                 {kStarttime, &p.start_time_s, tick},
                 {kVsize, &p.virtual_bytes, 1},
                 {kRss, &p.resident_bytes, page_bytes}};
    for (const auto& t : taken) {
        const auto v = number(t.field);
        if (!v)
            return Error{fmt::format("field {} is no count: '{}'", t.field, fields[t.field])};
        *t.to = *v * t.scale;
    }
    p.cpu_seconds += stime;
    return p;
}

Result<ProcessStats> read_process_stats() {
    std::string line;
    {
        std::ifstream in("/proc/self/stat"); // closed before the descriptors are counted
        if (!in || !std::getline(in, line))
            return Error{fmt::format("/proc/self/stat: cannot read it: {}", std::strerror(errno))};
    }
    auto p = parse_proc_stat(line, static_cast<double>(sysconf(_SC_CLK_TCK)),
                             static_cast<double>(sysconf(_SC_PAGESIZE)));
    if (!p)
        return Error{fmt::format("/proc/self/stat: {}", p.error())};
    const auto boot = boot_time();
    if (!boot)
        return Error{boot.error()};
    p->start_time_s += *boot;
    p->open_fds = open_fds();
    p->max_fds = soft_limit(RLIMIT_NOFILE);
    p->max_virtual_bytes = soft_limit(RLIMIT_AS);
    return p;
}

namespace metrics_parts {

void render_process(const ProcessStats& p, std::vector<MetricFamily>& out) {
    Family cpu("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               MetricType::Counter);
    cpu.counter({}, p.cpu_seconds);
    out.push_back(std::move(cpu.f));
    const struct {
        const char* name;
        const char* help;
        std::optional<double> value;
    } gauges[] = {
        {"process_open_fds", "Number of open file descriptors.", p.open_fds},
        {"process_max_fds", "Maximum number of open file descriptors.", p.max_fds},
        {"process_virtual_memory_bytes", "Virtual memory size in bytes.", p.virtual_bytes},
        {"process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.",
         p.max_virtual_bytes},
        {"process_resident_memory_bytes", "Resident memory size in bytes.", p.resident_bytes},
        {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
         p.start_time_s},
    };
    for (const auto& g : gauges) {
        if (!g.value)
            continue;
        Family f(g.name, g.help, MetricType::Gauge);
        f.gauge({}, *g.value);
        out.push_back(std::move(f.f));
    }
}

} // namespace metrics_parts

} // namespace mxs
