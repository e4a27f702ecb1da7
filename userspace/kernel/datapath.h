// The sensor loaded and attached to the watched interfaces: XDP ingress and TC egress on
// each (bpf links where the kernel has them, attach.h), detached when the Datapath goes.
#pragma once

#include "base/result.h"
#include "kernel/attach.h"
#include "kernel/sensor.h"
#include "kernel/sensor_snapshot.h"

#include <memory>
#include <string>
#include <vector>

namespace mxs {

class Datapath {
  public:
    struct Interface {
        std::string name;
        int ifindex = 0;
    };

    // The interfaces to watch: `names`, or the default-route interface when empty (logged).
    // Errors: no default route, an unknown name, two interfaces that would share a
    // packet-counter slot (ifindex modulo MXS_MAX_IFINDEX).
    static Result<std::vector<Interface>> resolve(const std::vector<std::string>& names);

    // Loads the sensor (cfg: ports and map sizes) and attaches it to every interface;
    // xdp_mode: auto (native, else generic) | native | generic. Needs CAP_BPF, CAP_NET_ADMIN
    // and CAP_PERFMON (or root). On an error nothing stays attached.
    static Result<std::unique_ptr<Datapath>>
    attach(std::vector<Interface> interfaces, const std::string& xdp_mode, const SensorConfig& cfg);

    Sensor& sensor() { return *sensor_; }
    const Sensor& sensor() const { return *sensor_; }
    std::vector<std::string> names() const;

    // A TC filter attached over netlink (kernels before 6.6, no tcx): removing it at exit
    // needs CAP_NET_ADMIN, so the agent keeps that capability.
    bool netlink_tc() const;
    // The interface the probes are pinned to (SO_BINDTODEVICE): the one watched, "" when
    // several are (routing decides).
    std::string probe_device() const;
    // Each interface's packet counters and how the programs are attached, into s.
    void read_interfaces(SensorSnapshot& s) const;

  private:
    struct Watched {
        Interface interface;
        std::unique_ptr<XdpAttachment> xdp;
        std::unique_ptr<TcEgressAttachment> tc;
    };
    Datapath() = default;
    // Declared first, destroyed last: the links close (detach) before the programs go.
    std::unique_ptr<Sensor> sensor_;
    std::vector<Watched> watched_;
};

} // namespace mxs
