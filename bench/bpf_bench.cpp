// Per-packet cost of the sensor programs beside empty programs, through
// BPF_PROG_TEST_RUN, in one run. Prints ns/packet and the overhead over empty;
// with --json PATH also writes {"<packet>_<hook>_ns_over_empty": ns, ...}.
//
// usage: bpf_bench [--json PATH|-] [REPEAT [PAIRS]]
//
// Non-DNS packets repeat inside the kernel (repeat=N: the kernel's own mean).
// A DNS query or response changes map state (a repeated query is a duplicate, a
// repeated response unsolicited), so each of those runs once per distinct packet
// (query id i, then its response) and the median of the kernel-measured
// durations is compared with the empty program measured the same way.
#include "bench_empty.skel.h"
#include "kernel/sensor.h"
#include "packet_builder.h"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

using namespace mxs;
using namespace mxs::test;

namespace {

double repeated(int fd, const Bytes& f, unsigned repeat) {
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f.data(),
                .data_size_in = static_cast<__u32>(f.size()), .repeat = static_cast<int>(repeat));
    if (bpf_prog_test_run_opts(fd, &o) != 0) {
        std::perror("bpf_prog_test_run_opts");
        std::exit(1);
    }
    return o.duration;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct Progs {
    int sensor, empty;
    const char* hook;
};

// Results by JSON key (<packet>_<hook>_ns_over_empty), in the order measured.
nlohmann::ordered_json results;

// Prints one row and records its overhead under key_<hook>_ns_over_empty.
void row(const char* hook, const std::string& what, double ns, double empty,
         const std::string& key) {
    std::printf("%-4s %-30s %8.1f ns/pkt   empty %6.1f ns   overhead %+7.1f ns\n", hook,
                what.c_str(), ns, empty, ns - empty);
    results[key + "_" + hook + "_ns_over_empty"] = ns - empty;
}

} // namespace

int main(int argc, char** argv) {
    std::string json_path;
    std::vector<unsigned> numbers;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json_path = argv[++i];
            continue;
        }
        char* end = nullptr;
        const unsigned long v = std::strtoul(argv[i], &end, 10);
        if (*argv[i] == '\0' || *end != '\0' || v == 0 || v > 100'000'000) {
            std::fprintf(stderr, "usage: bpf_bench [--json PATH|-] [REPEAT [PAIRS]]\n");
            return 2;
        }
        numbers.push_back(static_cast<unsigned>(v));
    }
    const unsigned repeat = numbers.size() > 0 ? numbers[0] : 1000000;
    const unsigned pairs = numbers.size() > 1 ? numbers[1] : 20000;
    if (geteuid() != 0) {
        std::fprintf(stderr, "bpf_bench: needs root\n");
        return 1;
    }
    auto sensor = Sensor::load(SensorConfig{});
    if (!sensor) {
        std::fprintf(stderr, "bpf_bench: %s\n", sensor.error().c_str());
        return 1;
    }
    bench_empty* empty = bench_empty__open_and_load();
    if (!empty) {
        std::fprintf(stderr, "bpf_bench: cannot load the empty programs\n");
        return 1;
    }
    const Progs progs[] = {
        {(*sensor)->xdp_prog_fd(), bpf_program__fd(empty->progs.mxs_empty_xdp), "xdp"},
        {(*sensor)->tc_prog_fd(), bpf_program__fd(empty->progs.mxs_empty_tc), "tc"},
    };
    std::printf("repeat %u (non-DNS), %u query/response pairs (DNS)\n", repeat, pairs);

    const Bytes https4 = Packet()
                             .eth()
                             .ipv4("198.18.0.1", "198.18.0.2")
                             .tcp(40000, 443)
                             .payload(Bytes(100, 0x17))
                             .build();
    const Bytes https6 =
        Packet().eth().ipv6("fd00::1", "fd00::2").udp(40000, 443).payload(Bytes(100, 0x17)).build();
    // Rounds alternate sensor and empty so that both see the same machine noise.
    auto alternating = [&](const Progs& p, const Bytes& f, const char* what, const char* key) {
        std::vector<double> s, e;
        for (int round = 0; round < 9; ++round) {
            s.push_back(repeated(p.sensor, f, repeat));
            e.push_back(repeated(p.empty, f, repeat));
        }
        row(p.hook, what, median(s), median(e), key);
    };
    for (const auto& p : progs) {
        alternating(p, https4, "non-DNS IPv4 TCP", "non_dns_ipv4");
        alternating(p, https6, "non-DNS IPv6 UDP", "non_dns_ipv6");
    }

    {
        // What this machine charges for the operations a DNS packet cannot avoid.
        const Progs helper{bpf_program__fd(empty->progs.mxs_one_helper),
                           bpf_program__fd(empty->progs.mxs_empty_xdp), "xdp"};
        const Progs churn{bpf_program__fd(empty->progs.mxs_hash_churn),
                          bpf_program__fd(empty->progs.mxs_empty_xdp), "xdp"};
        alternating(helper, https4, "floor: 1 helper call", "floor_helper_call");
        alternating(churn, https4, "floor: hash insert+delete", "floor_hash_insert_delete");
    }

    // DNS query/response pairs, each query answered at once (the table stays nearly empty and
    // in cache); then again beside `loaded` queries left in flight in the client role's table
    // (its memory no longer in cache, as under real traffic).
    auto dns_frames = [](bool v6, unsigned i, std::uint16_t port_base) {
        const auto id = static_cast<std::uint16_t>(i);
        const auto port = static_cast<std::uint16_t>(port_base + i / 65536);
        Packet qp, rp;
        if (v6) {
            qp.eth().ipv6("fd00::1", "fd00::2");
            rp.eth().ipv6("fd00::2", "fd00::1");
        } else {
            qp.eth().ipv4("198.18.0.1", "198.18.0.2");
            rp.eth().ipv4("198.18.0.2", "198.18.0.1");
        }
        return std::pair{
            qp.udp(port, 53).payload(dns::query(id, "mx1.example.test", dns::kMX)).build(),
            rp.udp(53, port).payload(dns::response(id, "mx1.example.test", dns::kMX)).build()};
    };
    // Each query and its answer travel opposite ways, as on the wire: this host's own queries
    // (client role) leave through TC and their answers arrive through XDP; queries to this host
    // (server role) arrive through XDP and their answers leave through TC.
    auto dns_pairs = [&](const char* label, const char* key_suffix) {
        for (bool v6 : {false, true}) {
            for (bool client : {true, false}) {
                const Progs& pq = client ? progs[1] : progs[0];
                const Progs& pr = client ? progs[0] : progs[1];
                std::vector<double> q, r, eq, er;
                for (unsigned i = 0; i < pairs; ++i) {
                    const auto [query, resp] = dns_frames(v6, i, 20000);
                    q.push_back(repeated(pq.sensor, query, 1));
                    r.push_back(repeated(pr.sensor, resp, 1));
                    eq.push_back(repeated(pq.empty, query, 1));
                    er.push_back(repeated(pr.empty, resp, 1));
                }
                const std::string fam = v6 ? "IPv6" : "IPv4";
                const std::string k = v6 ? "ipv6" : "ipv4";
                const std::string role = client ? " (client)" : " (server)";
                row(pq.hook, "DNS query " + fam + role + label, median(q), median(eq),
                    "dns_query_" + k + key_suffix);
                row(pr.hook, "DNS response " + fam + role + label, median(r), median(er),
                    "dns_response_" + k + key_suffix);
            }
        }
    };
    dns_pairs("", "");
    {
        // 30,000 queries left unanswered in each role (46% of the default 65,536 slots).
        constexpr unsigned loaded = 30000;
        for (unsigned i = 0; i < loaded; ++i) {
            const Bytes q = dns_frames(i % 2, i, 30000).first;
            repeated(progs[1].sensor, q, 1);
            repeated(progs[0].sensor, q, 1);
        }
        dns_pairs(", 30k in flight", "_loaded");
        (*sensor)->clear_maps();
    }
    // SMTP: one connection per round, client role (client segments on TC, server's on XDP):
    // SYN, SYN-ACK, the greeting, a client data segment, then one server segment of pipelined
    // "250 2.1.5 Ok" replies (2 KiB; 64 KiB every 16th round: what TSO/GSO or GRO can hand
    // over). Server role (server segments on TC): the greeting.
    {
        const auto& xdp = progs[0];
        const auto& tc = progs[1];
        std::vector<double> syn, synack, greet, data, big2k, big64k, greet_tc;
        std::vector<double> e_syn, e_synack, e_greet, e_data, e_big2k, e_big64k, e_greet_tc;
        const Bytes body(512, 'x');
        const std::string greeting = "220 mx.example.test ESMTP\r\n";
        auto pipelined = [](std::size_t size) {
            std::string s;
            while (s.size() + 14 <= size)
                s += "250 2.1.5 Ok\r\n";
            return Bytes(s.begin(), s.end());
        };
        const Bytes r2k = pipelined(2048), r64k = pipelined(65000);
        for (unsigned i = 0; i < pairs; ++i) {
            const auto port = static_cast<std::uint16_t>(10000 + i % 50000);
            const auto client = "198.18." + std::to_string(1 + i / 50000) + ".1";
            // Sequence and acknowledgment numbers of a real session: the sensor reads only
            // segments the receiving TCP would accept (bpf/lib/tcp.h).
            auto c2s = [&](std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, const Bytes& p,
                           const std::string& srv = "198.18.0.25") {
                return Packet()
                    .eth()
                    .ipv4(client, srv)
                    .tcp(port, 25, flags, seq, ack)
                    .payload(p)
                    .build();
            };
            auto s2c = [&](std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, const Bytes& p,
                           const std::string& srv = "198.18.0.25") {
                return Packet()
                    .eth()
                    .ipv4(srv, client)
                    .tcp(25, port, flags, seq, ack)
                    .payload(p)
                    .build();
            };
            const auto after_greet = static_cast<std::uint32_t>(501 + greeting.size());
            const Bytes f_syn = c2s(0x02, 100, 0, {}), f_synack = s2c(0x12, 500, 101, {});
            const Bytes f_greet = s2c(0x18, 501, 101, Bytes(greeting.begin(), greeting.end()));
            const Bytes f_data = c2s(0x18, 101, after_greet, body);
            const bool long_round = i % 16 == 0;
            const Bytes f_big =
                s2c(0x18, after_greet, 101 + static_cast<std::uint32_t>(body.size()),
                    long_round ? r64k : r2k);
            syn.push_back(repeated(tc.sensor, f_syn, 1));
            synack.push_back(repeated(xdp.sensor, f_synack, 1));
            greet.push_back(repeated(xdp.sensor, f_greet, 1));
            data.push_back(repeated(tc.sensor, f_data, 1));
            (long_round ? big64k : big2k).push_back(repeated(xdp.sensor, f_big, 1));
            e_syn.push_back(repeated(tc.empty, f_syn, 1));
            e_synack.push_back(repeated(xdp.empty, f_synack, 1));
            e_greet.push_back(repeated(xdp.empty, f_greet, 1));
            e_data.push_back(repeated(tc.empty, f_data, 1));
            (long_round ? e_big64k : e_big2k).push_back(repeated(xdp.empty, f_big, 1));
            // Server role: this host is the MX at another address.
            const std::string mx = "198.18.0.26";
            repeated(xdp.sensor, c2s(0x02, 100, 0, {}, mx), 1);
            repeated(tc.sensor, s2c(0x12, 500, 101, {}, mx), 1);
            const Bytes f_greet_tc =
                s2c(0x18, 501, 101, Bytes(greeting.begin(), greeting.end()), mx);
            greet_tc.push_back(repeated(tc.sensor, f_greet_tc, 1));
            e_greet_tc.push_back(repeated(tc.empty, f_greet_tc, 1));
        }
        row("tc", "SMTP SYN", median(syn), median(e_syn), "smtp_syn");
        row("xdp", "SMTP SYN-ACK", median(synack), median(e_synack), "smtp_syn_ack");
        row("xdp", "SMTP greeting", median(greet), median(e_greet), "smtp_greeting");
        row("tc", "SMTP greeting (server)", median(greet_tc), median(e_greet_tc),
            "smtp_greeting_server");
        row("tc", "SMTP client data (512 B)", median(data), median(e_data), "smtp_client_data");
        row("xdp", "SMTP 2 KiB, 146 replies", median(big2k), median(e_big2k), "smtp_replies_2k");
        row("xdp", "SMTP 64 KiB, 4642 replies", median(big64k), median(e_big64k),
            "smtp_replies_64k");
    }
    bench_empty__destroy(empty);
    if (!json_path.empty()) {
        const std::string text = results.dump(2) + "\n";
        if (json_path == "-") {
            std::cout << text;
        } else {
            std::ofstream out(json_path);
            out << text;
            if (!out) {
                std::fprintf(stderr, "bpf_bench: cannot write %s\n", json_path.c_str());
                return 1;
            }
        }
    }
    return 0;
}
