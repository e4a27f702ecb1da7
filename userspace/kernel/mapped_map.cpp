#include "kernel/mapped_map.h"

#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>

namespace mxs {

Result<MappedMap> MappedMap::map(const bpf_map* m) {
    if (!(bpf_map__map_flags(m) & BPF_F_MMAPABLE))
        return Error{fmt::format("map {} is not mmapable", bpf_map__name(m))};
    MappedMap out;
    // The kernel lays array values out 8-byte aligned, from the start of the first page.
    out.value_size_ = (std::size_t{bpf_map__value_size(m)} + 7) & ~std::size_t{7};
    out.entries_ = bpf_map__max_entries(m);
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    out.length_ = (out.value_size_ * out.entries_ + page - 1) / page * page;
    void* p = mmap(nullptr, out.length_, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
    if (p == MAP_FAILED)
        return Error{
            fmt::format("cannot map {} into memory: {}", bpf_map__name(m), std::strerror(errno))};
    out.base_ = p;
    return out;
}

MappedMap::~MappedMap() {
    if (base_)
        munmap(base_, length_);
}

MappedMap::MappedMap(MappedMap&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)), length_(std::exchange(o.length_, 0)),
      entries_(std::exchange(o.entries_, 0)), value_size_(std::exchange(o.value_size_, 0)) {}

MappedMap& MappedMap::operator=(MappedMap&& o) noexcept {
    if (this != &o) {
        if (base_)
            munmap(base_, length_);
        base_ = std::exchange(o.base_, nullptr);
        length_ = std::exchange(o.length_, 0);
        entries_ = std::exchange(o.entries_, 0);
        value_size_ = std::exchange(o.value_size_, 0);
    }
    return *this;
}

} // namespace mxs
