// A BPF array map created with BPF_F_MMAPABLE, mapped into this process: the
// datapath and the agent then share its values as memory (no syscall per read).
#pragma once

#include "base/result.h"

#include <cstddef>
#include <cstdint>

struct bpf_map;

namespace mxs {

/// Owns one shared mapping of an mmapable BPF array (munmap on destruction).
class MappedMap {
  public:
    MappedMap() = default;
    /// Maps every value of `map` (max_entries values of value_size bytes, 8-byte aligned)
    /// read-write. Errors: the map is not mmapable, or mmap(2) failed (its errno text).
    static Result<MappedMap> map(const bpf_map* map);
    ~MappedMap();
    MappedMap(MappedMap&& o) noexcept;
    MappedMap& operator=(MappedMap&& o) noexcept;
    MappedMap(const MappedMap&) = delete;
    MappedMap& operator=(const MappedMap&) = delete;

    /// Value i as a T (sizeof(T) must be the map's value size; i below entries()).
    template <class T> T* at(std::size_t i) const {
        return reinterpret_cast<T*>(static_cast<std::uint8_t*>(base_) + i * value_size_);
    }
    std::size_t entries() const { return entries_; }
    std::size_t value_size() const { return value_size_; }

  private:
    void* base_ = nullptr;
    std::size_t length_ = 0;     // bytes mapped (whole pages)
    std::size_t entries_ = 0;    // values
    std::size_t value_size_ = 0; // bytes between values
};

} // namespace mxs
