#include "kernel/sensor.h"

#include "mxsense_bpf.skel.h"

#include <algorithm>
#include <atomic>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <random>

namespace mxs {

std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

namespace {

// Sums a per-CPU per-server map into Counters, with each server's shared histograms
// (hist_fd, same keys, one value for all CPUs).
template <class Value, class Hist, class Counters>
std::map<mxs_server_key, Counters, ServerKeyLess> read_per_server(int fd, int hist_fd, int ncpus) {
    std::map<mxs_server_key, Counters, ServerKeyLess> out;
    std::vector<Value> values(ncpus);
    auto hist = std::make_unique<Hist>();
    mxs_server_key key{}, next{};
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        if (bpf_map_lookup_elem(fd, &next, values.data()) == 0) {
            auto& c = out[next];
            for (const auto& v : values)
                c.add(v);
            if (bpf_map_lookup_elem(hist_fd, &next, hist.get()) == 0)
                c.add(*hist);
        }
        key = next;
        prev = &key;
    }
    return out;
}

// False when the kernel refuses the first batch (no batch ops).
template <class Key, class Value, class Visit> bool for_each_batched(int fd, Visit&& visit) {
    constexpr __u32 kBatch = 4096;
    std::vector<Key> keys(kBatch);
    std::vector<Value> values(kBatch);
    __u32 cursor = 0;
    for (bool first = true;; first = false) {
        __u32 count = kBatch;
        const int err = bpf_map_lookup_batch(fd, first ? nullptr : &cursor, &cursor, keys.data(),
                                             values.data(), &count, nullptr);
        if (err && errno != ENOENT && first)
            return false;
        for (__u32 i = 0; i < count; ++i)
            visit(keys[i], values[i]);
        if (err) // ENOENT: the walk is complete
            return true;
    }
}

// Visits every entry of a hash map, thousands per syscall; key by key on
// kernels without batch lookup.
template <class Key, class Value, class Visit> void for_each_entry(int fd, Visit&& visit) {
    if (for_each_batched<Key, Value>(fd, visit))
        return;
    Key key{}, next{};
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        Value v{};
        if (bpf_map_lookup_elem(fd, &next, &v) == 0)
            visit(next, v);
        key = next;
        prev = &key;
    }
}

// Entries of a hash map, counted by batched lookups (1024 a syscall), key by key on kernels
// without batch lookup.
std::uint64_t count_entries(const bpf_map* m) {
    constexpr __u32 kBatch = 1024;
    const int fd = bpf_map__fd(m);
    std::vector<std::uint8_t> keys(std::size_t{bpf_map__key_size(m)} * kBatch);
    std::vector<std::uint8_t> values(std::size_t{bpf_map__value_size(m)} * kBatch);
    std::uint64_t n = 0;
    __u32 cursor = 0;
    for (bool first = true;; first = false) {
        __u32 count = kBatch;
        const int err = bpf_map_lookup_batch(fd, first ? nullptr : &cursor, &cursor, keys.data(),
                                             values.data(), &count, nullptr);
        if (err && errno != ENOENT && first)
            break; // no batch ops: count key by key
        n += count;
        if (err) // ENOENT: the walk is complete
            return n;
    }
    std::vector<std::uint8_t> key(bpf_map__key_size(m)), next(key.size());
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
        ++n;
        key = next;
        prev = key.data();
    }
    return n;
}

} // namespace

namespace {

// Buckets of a table holding `entries` queries (8 a bucket, rounded up).
std::uint32_t flight_buckets(std::uint32_t entries) {
    return (entries + MXS_FLIGHT_WAYS - 1) / MXS_FLIGHT_WAYS;
}

} // namespace

Result<std::unique_ptr<Sensor>> Sensor::load(const SensorConfig& cfg) {
    if (cfg.stats_map_entries == 0 || cfg.stats_map_entries >= MXS_NO_SERVER_SLOT)
        return Error{fmt::format("DNS statistics map entries must be from 1 to {}, not {}",
                                 MXS_NO_SERVER_SLOT - 1, cfg.stats_map_entries)};
    mxsense_bpf* skel = mxsense_bpf__open();
    if (!skel)
        return Error{fmt::format("cannot open the BPF object: {}", std::strerror(errno))};
    for (std::size_t i = 0; i < MXS_MAX_PORTS; ++i)
        skel->rodata->mxs_dns_ports[i] = i < cfg.dns_ports.size() ? cfg.dns_ports[i] : 0;
    bpf_map__set_max_entries(skel->maps.mxs_dns_servers, cfg.stats_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_dns_stats, cfg.stats_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_dns_hist, cfg.stats_map_entries);
    skel->rodata->mxs_dns_slot_cap = cfg.stats_map_entries;
    // The server role (this host's own service, which may answer on many addresses) takes
    // at most half: a flood of queries to new local addresses leaves the client role room.
    skel->rodata->mxs_dns_slot_cap_srv = std::max<std::uint32_t>(1, cfg.stats_map_entries / 2);
    skel->rodata->mxs_flight_buckets = flight_buckets(cfg.inflight_map_entries);
    skel->rodata->mxs_flight_srv_buckets = flight_buckets(cfg.inflight_server_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_dns_flight, skel->rodata->mxs_flight_buckets);
    bpf_map__set_max_entries(skel->maps.mxs_dns_flight_srv, skel->rodata->mxs_flight_srv_buckets);
    bpf_map__set_max_entries(skel->maps.mxs_dns_spill, skel->rodata->mxs_flight_buckets);
    bpf_map__set_max_entries(skel->maps.mxs_dns_spill_srv, skel->rodata->mxs_flight_srv_buckets);
    // Unknown outside: no one can aim queries at chosen buckets.
    std::random_device rd;
    skel->rodata->mxs_flight_seed = (std::uint64_t{rd()} << 32 | rd()) | 1;
    bpf_map__set_max_entries(skel->maps.mxs_dns_swept, cfg.late_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_dns_swept_srv, cfg.late_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_tcp_next, cfg.tcp_stream_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_tcp_hold, cfg.tcp_stream_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_dns_conns, cfg.tcp_stream_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_dns_conns_srv, cfg.tcp_stream_map_entries);
    for (std::size_t i = 0; i < MXS_MAX_SMTP_PORTS; ++i) {
        skel->rodata->mxs_smtp_ports[i] = i < cfg.smtp_ports.size() ? cfg.smtp_ports[i] : 0;
        skel->rodata->mxs_smtp_tls_ports[i] =
            i < cfg.smtp_tls_ports.size() ? cfg.smtp_tls_ports[i] : 0;
    }
    bpf_map__set_max_entries(skel->maps.mxs_smtp_stats, cfg.smtp_stats_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_smtp_hist, cfg.smtp_stats_map_entries);
    bpf_map__set_max_entries(skel->maps.mxs_smtp_flows, cfg.smtp_flow_map_entries);
    if (int err = mxsense_bpf__load(skel)) {
        mxsense_bpf__destroy(skel);
        return Error{fmt::format("cannot load the BPF programs: {}", std::strerror(-err))};
    }
    auto flight = MappedMap::map(skel->maps.mxs_dns_flight);
    auto flight_srv = MappedMap::map(skel->maps.mxs_dns_flight_srv);
    auto spill = MappedMap::map(skel->maps.mxs_dns_spill);
    auto spill_srv = MappedMap::map(skel->maps.mxs_dns_spill_srv);
    auto hist = MappedMap::map(skel->maps.mxs_dns_hist);
    for (const auto* r : {&flight, &flight_srv, &spill, &spill_srv, &hist})
        if (!*r) {
            auto e = Error{r->error()};
            mxsense_bpf__destroy(skel);
            return e;
        }
    return std::unique_ptr<Sensor>(new Sensor(skel, std::move(*flight), std::move(*flight_srv),
                                              std::move(*spill), std::move(*spill_srv),
                                              std::move(*hist)));
}

Sensor::Sensor(mxsense_bpf* skel, MappedMap flight, MappedMap flight_srv, MappedMap spill,
               MappedMap spill_srv, MappedMap hist)
    : skel_(skel), ncpus_(libbpf_num_possible_cpus()), flight_(std::move(flight)),
      flight_srv_(std::move(flight_srv)), spill_(std::move(spill)),
      spill_srv_(std::move(spill_srv)), hist_(std::move(hist)) {}

Sensor::~Sensor() {
    mxsense_bpf__destroy(skel_);
}

int Sensor::xdp_prog_fd() const {
    return bpf_program__fd(skel_->progs.mxs_xdp);
}
int Sensor::tc_prog_fd() const {
    return bpf_program__fd(skel_->progs.mxs_tc_egress);
}

std::uint32_t Sensor::stats_capacity() const {
    return bpf_map__max_entries(skel_->maps.mxs_dns_stats);
}
std::uint32_t Sensor::inflight_capacity() const {
    return bpf_map__max_entries(skel_->maps.mxs_dns_flight) * MXS_FLIGHT_WAYS;
}
std::uint32_t Sensor::inflight_server_capacity() const {
    return bpf_map__max_entries(skel_->maps.mxs_dns_flight_srv) * MXS_FLIGHT_WAYS;
}

std::map<mxs_server_key, DnsCounters, ServerKeyLess> Sensor::read_dns_stats() const {
    std::map<mxs_server_key, DnsCounters, ServerKeyLess> out;
    const int stats_fd = bpf_map__fd(skel_->maps.mxs_dns_stats);
    std::vector<mxs_dns_stats> values(ncpus_);
    for_each_entry<mxs_server_key, __u32>(
        bpf_map__fd(skel_->maps.mxs_dns_servers), [&](const mxs_server_key& k, __u32 slot) {
            if (slot >= hist_.entries() || bpf_map_lookup_elem(stats_fd, &slot, values.data()) != 0)
                return;
            auto& c = out[k];
            for (const auto& v : values)
                c.add(v);
            c.add(*hist_.at<const mxs_dns_hist>(slot));
        });
    return out;
}

std::map<mxs_server_key, SmtpCounters, ServerKeyLess> Sensor::read_smtp_stats() const {
    return read_per_server<mxs_smtp_stats, mxs_smtp_hist, SmtpCounters>(
        bpf_map__fd(skel_->maps.mxs_smtp_stats), bpf_map__fd(skel_->maps.mxs_smtp_hist), ncpus_);
}

std::array<std::uint64_t, MXS_C_MAX> Sensor::read_counters() const {
    std::array<std::uint64_t, MXS_C_MAX> out{};
    const int fd = bpf_map__fd(skel_->maps.mxs_counters);
    std::vector<std::uint64_t> values(ncpus_);
    for (std::uint32_t i = 0; i < MXS_C_MAX; ++i)
        if (bpf_map_lookup_elem(fd, &i, values.data()) == 0)
            for (auto v : values)
                out[i] += v;
    return out;
}

mxs_if_stats Sensor::read_ifstats(std::uint32_t ifindex) const {
    mxs_if_stats out{};
    const int fd = bpf_map__fd(skel_->maps.mxs_ifstats);
    const std::uint32_t slot = mxs_ifslot(ifindex);
    std::vector<mxs_if_stats> values(ncpus_);
    if (bpf_map_lookup_elem(fd, &slot, values.data()) == 0)
        for (const auto& v : values)
            for (int d = 0; d < MXS_DIR_MAX; ++d)
                out.packets[d] += v.packets[d];
    return out;
}

namespace {

// A tag's query time as an age at now (ns, mod 2^47); 0 for a query stamped after now was read.
std::uint64_t tag_age(std::uint64_t tag, std::uint64_t now) {
    const std::uint64_t age = (now - tag) & MXS_TAG_TS_MASK;
    return age > MXS_TAG_TS_MASK / 2 ? 0 : age;
}

bool tag_published(std::uint64_t tag) {
    return ((tag >> MXS_TAG_FP_SHIFT) & MXS_TAG_FP_MASK) != 0;
}

} // namespace

SweepResult Sensor::sweep(std::uint64_t now_ns, std::uint64_t timeout_ns) const {
    SweepResult r;
    for (const auto role : {MXS_ROLE_CLIENT, MXS_ROLE_SERVER}) {
        const MappedMap& table = role == MXS_ROLE_CLIENT ? flight_ : flight_srv_;
        const MappedMap& spill = role == MXS_ROLE_CLIENT ? spill_ : spill_srv_;
        // Each role remembers its swept queries apart (a flood of one cannot evict the other's).
        const int swept_fd = bpf_map__fd(role == MXS_ROLE_CLIENT ? skel_->maps.mxs_dns_swept
                                                                 : skel_->maps.mxs_dns_swept_srv);
        std::uint64_t& remaining =
            role == MXS_ROLE_CLIENT ? r.remaining_client : r.remaining_server;
        for (std::size_t i = 0; i < table.entries(); ++i) {
            auto* b = table.at<mxs_dns_bucket>(i);
            for (std::size_t w = 0; w < MXS_FLIGHT_WAYS; ++w) {
                std::uint64_t tag = __atomic_load_n(&b->tag[w], __ATOMIC_ACQUIRE);
                if (!tag_published(tag))
                    continue;
                if (tag_age(tag, now_ns) < timeout_ns) {
                    ++remaining;
                    continue;
                }
                const mxs_dns_slot slot = b->slot[w];
                // The copy belongs to the tag read only if the tag is still there (a RETRIED
                // mark may have come meanwhile): else the slot was released and maybe reused.
                // The fence keeps the copy's loads before the second look at the tag.
                std::atomic_thread_fence(std::memory_order_acquire);
                const std::uint64_t again = __atomic_load_n(&b->tag[w], __ATOMIC_RELAXED);
                if ((again & ~MXS_TAG_RETRIED) != (tag & ~MXS_TAG_RETRIED))
                    continue;
                tag = again;
                // Remembered first, so that an answer arriving between the two steps is
                // late, not unsolicited; forgotten again when the response won. With the
                // query's question, so that a late answer is checked against it as an
                // answer in time is.
                const mxs_dns_swept sw{
                    .expired_ns = now_ns,
                    .qname_hash = slot.qname_hash,
                    .qtype = slot.qtype,
                    .qclass = slot.qclass,
                    .role = static_cast<__u8>(role),
                    .dir = slot.dir,
                    .flags = static_cast<__u8>((slot.flags & MXS_INFLIGHT_NOQ) |
                                               (tag & MXS_TAG_RETRIED ? MXS_INFLIGHT_RETRIED : 0)),
                    .pad = 0};
                const bool remembered = bpf_map_update_elem(swept_fd, &slot.key, &sw, BPF_ANY) == 0;
                // The datapath's own release: whoever turns the tag to 0 owns the query. A
                // RETRIED mark set since is no new owner (it comes at most once).
                __u64 expected = tag;
                bool won = __atomic_compare_exchange_n(&b->tag[w], &expected, 0, false,
                                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
                if (!won && expected == (tag | MXS_TAG_RETRIED))
                    won = __atomic_compare_exchange_n(&b->tag[w], &expected, 0, false,
                                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
                if (!won) {
                    if (remembered)
                        bpf_map_delete_elem(swept_fd, &slot.key);
                    continue; // the response won
                }
                // Released from its second bucket: it leaves its first bucket's spill count.
                if (tag & MXS_TAG_SPILLED) {
                    const std::uint64_t h =
                        mxs_flow_hash(&slot.key, skel_->rodata->mxs_flight_seed);
                    const auto first = mxs_bucket_index(
                        static_cast<std::uint32_t>(h), static_cast<std::uint32_t>(table.entries()));
                    __atomic_fetch_sub(spill.at<__u64>(first), 1, __ATOMIC_ACQ_REL);
                }
                ++r.expired_total;
                // A query whose server had no statistics slot was not counted: nor is its
                // timeout (its server is never seen failing what it was not asked).
                if (slot.server_slot == MXS_NO_SERVER_SLOT)
                    continue;
                mxs_server_key sk{};
                std::memcpy(sk.addr, slot.key.server, sizeof(sk.addr));
                sk.port = slot.key.server_port;
                sk.proto = slot.key.proto;
                sk.role = static_cast<__u8>(role);
                ++r.expired[sk];
            }
        }
    }
    r.remaining = r.remaining_client + r.remaining_server;
    return r;
}

SmtpSweepResult Sensor::sweep_smtp(std::uint64_t now_ns, std::uint64_t connect_ns,
                                   std::uint64_t idle_ns) const {
    return smtp_sweep_claim(smtp_sweep_candidates(now_ns, connect_ns, idle_ns));
}

SmtpSweepCandidates Sensor::smtp_sweep_candidates(std::uint64_t now_ns, std::uint64_t connect_ns,
                                                  std::uint64_t idle_ns) const {
    SmtpSweepCandidates c;
    auto age = [now_ns](std::uint64_t ts) { return now_ns > ts ? now_ns - ts : 0; };
    for_each_entry<mxs_smtp_flow_key, mxs_smtp_flow>(
        bpf_map__fd(skel_->maps.mxs_smtp_flows),
        [&](const mxs_smtp_flow_key& k, const mxs_smtp_flow& f) {
            if (age(f.last_ts) >= idle_ns)
                c.flows.push_back({k, f, true});
            else if (f.state == MXS_SMTP_SYN_SENT && age(f.syn_ts) >= connect_ns)
                c.flows.push_back({k, f, false});
            else
                ++c.remaining;
        });
    return c;
}

SmtpSweepResult Sensor::smtp_sweep_claim(const SmtpSweepCandidates& c) const {
    SmtpSweepResult r;
    r.remaining = c.remaining;
    const int prog = bpf_program__fd(skel_->progs.mxs_smtp_expire);
    for (const auto& [k, f, idle] : c.flows) {
        // The kernel ends the flow with the datapath's own compare-and-swap: an answer that
        // landed since the walk wins, and the attempt is counted once either way.
        mxs_smtp_expire e{};
        e.key = k;
        e.op = idle ? MXS_EXPIRE_IDLE : MXS_EXPIRE_CONNECT;
        e.syn_ts = f.syn_ts;
        e.last_ts = f.last_ts;
        // A syscall program's context is written back to ctx_in (ctx_out must stay unset).
        LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &e, .ctx_size_in = sizeof(e));
        if (bpf_prog_test_run_opts(prog, &opts) != 0) {
            ++r.remaining; // left alone; the next sweep tries again
            continue;
        }
        if (!(e.result & MXS_EXPIRED_DELETED))
            ++r.remaining;
        if (e.result & MXS_EXPIRED_EVICTED)
            ++r.evicted;
        if (e.result & MXS_EXPIRED_TIMEOUT) {
            mxs_server_key sk{};
            std::memcpy(sk.addr, k.server, sizeof(sk.addr));
            sk.port = k.server_port;
            sk.proto = IPPROTO_TCP;
            sk.role = f.role;
            ++r.timeouts[sk];
        }
    }
    return r;
}

void Sensor::clear_maps() const {
    for (bpf_map* m :
         {skel_->maps.mxs_dns_servers, skel_->maps.mxs_dns_swept, skel_->maps.mxs_dns_swept_srv,
          skel_->maps.mxs_tcp_next, skel_->maps.mxs_tcp_hold, skel_->maps.mxs_dns_conns,
          skel_->maps.mxs_dns_conns_srv, skel_->maps.mxs_smtp_stats, skel_->maps.mxs_smtp_hist,
          skel_->maps.mxs_smtp_flows}) {
        const int fd = bpf_map__fd(m);
        std::vector<std::uint8_t> key(bpf_map__key_size(m));
        while (bpf_map_get_next_key(fd, nullptr, key.data()) == 0)
            if (bpf_map_delete_elem(fd, key.data()) != 0)
                break;
    }
    for (bpf_map* m :
         {skel_->maps.mxs_counters, skel_->maps.mxs_ifstats, skel_->maps.mxs_dns_stats}) {
        const int fd = bpf_map__fd(m);
        const std::vector<std::uint8_t> zero(((bpf_map__value_size(m) + 7) & ~7u) * ncpus_);
        for (std::uint32_t i = 0; i < bpf_map__max_entries(m); ++i)
            bpf_map_update_elem(fd, &i, zero.data(), BPF_ANY);
    }
    for (const MappedMap* m : {&flight_, &flight_srv_, &spill_, &spill_srv_, &hist_})
        std::memset(m->at<std::uint8_t>(0), 0, m->entries() * m->value_size());
    skel_->bss->mxs_dns_slots_used = 0;
}

std::map<std::string, MapUsage> Sensor::map_usage() const {
    std::map<std::string, MapUsage> out;
    for (const auto& [name, m] : {std::pair{"dns_late", skel_->maps.mxs_dns_swept},
                                  std::pair{"dns_late_server", skel_->maps.mxs_dns_swept_srv},
                                  std::pair{"tcp_streams", skel_->maps.mxs_tcp_next},
                                  std::pair{"tcp_streams_held", skel_->maps.mxs_tcp_hold}})
        out[name] = MapUsage{count_entries(m), bpf_map__max_entries(m)};
    return out;
}

std::map<std::string, std::uint64_t> Sensor::map_memory() const {
    std::map<std::string, std::uint64_t> out;
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, skel_->obj) {
        std::ifstream in(fmt::format("/proc/self/fdinfo/{}", bpf_map__fd(m)));
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("memlock:", 0) == 0)
                out[bpf_map__name(m)] = std::stoull(line.substr(8));
    }
    return out;
}

std::uint32_t Sensor::smtp_stats_capacity() const {
    return bpf_map__max_entries(skel_->maps.mxs_smtp_stats);
}
std::uint32_t Sensor::smtp_flow_capacity() const {
    return bpf_map__max_entries(skel_->maps.mxs_smtp_flows);
}

} // namespace mxs
