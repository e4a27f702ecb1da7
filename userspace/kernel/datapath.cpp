#include "kernel/datapath.h"

#include "base/addr.h"
#include "kernel/libbpf_log.h"

#include <net/if.h>
#include <spdlog/spdlog.h>

namespace mxs {

Result<std::vector<Datapath::Interface>> Datapath::resolve(const std::vector<std::string>& names) {
    std::vector<Interface> out;
    auto wanted = names;
    if (wanted.empty()) {
        auto def = default_route_interface();
        if (!def)
            return Error{"no --interface given and no default route to pick one from"};
        wanted.push_back(*def);
        spdlog::info("watching the default-route interface {}", *def);
    }
    for (const auto& name : wanted) {
        const unsigned idx = if_nametoindex(name.c_str());
        if (idx == 0)
            return Error{fmt::format("unknown interface '{}'", name)};
        for (const auto& w : out)
            if (mxs_ifslot(w.ifindex) == mxs_ifslot(idx))
                return Error{fmt::format("interfaces {} and {} would share a packet-counter slot "
                                         "(ifindex {} and {}, modulo {}); watch one of them",
                                         w.name, name, w.ifindex, idx, MXS_MAX_IFINDEX)};
        out.push_back({name, static_cast<int>(idx)});
    }
    return out;
}

Result<std::unique_ptr<Datapath>> Datapath::attach(std::vector<Interface> interfaces,
                                                   const std::string& xdp_mode,
                                                   const SensorConfig& cfg) {
    route_libbpf_logs();
    std::unique_ptr<Datapath> d(new Datapath);
    auto sensor = Sensor::load(cfg);
    if (!sensor)
        return Error{sensor.error()};
    d->sensor_ = std::move(*sensor);
    for (auto& i : interfaces) {
        auto xdp = XdpAttachment::attach(d->sensor_->xdp_prog_fd(), i.ifindex, xdp_mode);
        if (!xdp)
            return Error{xdp.error()};
        auto tc = TcEgressAttachment::attach(d->sensor_->tc_prog_fd(), i.ifindex);
        if (!tc)
            return Error{tc.error()};
        spdlog::info("attached to {}: XDP ingress ({}), TC egress ({})", i.name, (*xdp)->mode(),
                     (*tc)->mode());
        d->watched_.push_back({std::move(i), std::move(*xdp), std::move(*tc)});
    }
    return d;
}

std::vector<std::string> Datapath::names() const {
    std::vector<std::string> out;
    for (const auto& w : watched_)
        out.push_back(w.interface.name);
    return out;
}

bool Datapath::netlink_tc() const {
    for (const auto& w : watched_)
        if (w.tc->mode() == "netlink")
            return true;
    return false;
}

std::string Datapath::probe_device() const {
    return watched_.size() == 1 ? watched_.front().interface.name : std::string();
}

void Datapath::read_interfaces(SensorSnapshot& s) const {
    s.interfaces.clear();
    s.attachments.clear();
    for (const auto& w : watched_) {
        const auto st = sensor_->read_ifstats(w.interface.ifindex);
        InterfaceCounters ic{w.interface.name, {}};
        for (int dir = 0; dir < MXS_DIR_MAX; ++dir)
            ic.packets[dir] = st.packets[dir];
        s.interfaces.push_back(ic);
        s.attachments.push_back({w.interface.name, "xdp", w.xdp->mode()});
        s.attachments.push_back({w.interface.name, "tc", w.tc->mode()});
    }
}

} // namespace mxs
