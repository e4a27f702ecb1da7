# BPF objects and their libbpf skeletons.
#
# mxs_bpf_skeleton(<name> <source>) compiles <source> with clang for the BPF target into
# ${BPF_OUT}/<name>.bpf.o and generates ${BPF_OUT}/<name>.skel.h (bpftool gen skeleton); the
# target <name>_skel builds both. vmlinux.h comes from the BTF of the build machine's kernel:
# the programs use only stable UAPI layouts (xdp_md, __sk_buff, packet headers), and CO-RE
# keeps them portable to any BTF-enabled kernel, so no kernel headers are needed.
#
# __TARGET_ARCH_<arch> (libbpf's bpf_tracing.h names it so) follows the machine the objects
# are built for (CMAKE_SYSTEM_PROCESSOR), not a hard-coded x86.
include_guard(GLOBAL)

find_program(CLANG clang REQUIRED)
find_program(BPFTOOL bpftool PATHS /usr/sbin /sbin REQUIRED)

# uname -m (and Debian's architectures) -> the names libbpf's bpf_tracing.h uses.
function(mxs_bpf_target_arch out)
  set(p ${CMAKE_SYSTEM_PROCESSOR})
  if(p MATCHES "^(x86_64|amd64|AMD64|i[3-6]86)$")
    set(arch x86)
  elseif(p MATCHES "^(aarch64|arm64)$")
    set(arch arm64)
  elseif(p MATCHES "^arm")
    set(arch arm)
  elseif(p MATCHES "^(ppc64|ppc64le|powerpc)")
    set(arch powerpc)
  elseif(p MATCHES "^s390")
    set(arch s390)
  elseif(p MATCHES "^riscv")
    set(arch riscv)
  elseif(p MATCHES "^loongarch")
    set(arch loongarch)
  elseif(p MATCHES "^mips")
    set(arch mips)
  else()
    message(FATAL_ERROR "BPF: no __TARGET_ARCH for processor '${p}'; set MXS_BPF_TARGET_ARCH "
                        "(x86, arm64, arm, powerpc, s390, riscv, loongarch, mips)")
  endif()
  set(${out} ${arch} PARENT_SCOPE)
endfunction()

if(NOT MXS_BPF_TARGET_ARCH)
  mxs_bpf_target_arch(_mxs_arch)
  set(MXS_BPF_TARGET_ARCH ${_mxs_arch} CACHE STRING "libbpf __TARGET_ARCH_ of the BPF objects")
endif()
message(STATUS "BPF objects: __TARGET_ARCH_${MXS_BPF_TARGET_ARCH}")

set(BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${BPF_OUT})
set(VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "BTF used to generate vmlinux.h")
add_custom_command(
  OUTPUT ${BPF_OUT}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${VMLINUX_BTF} format c > ${BPF_OUT}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${VMLINUX_BTF}")

function(mxs_bpf_skeleton name src)
  set(obj ${BPF_OUT}/${name}.bpf.o)
  set(skel ${BPF_OUT}/${name}.skel.h)
  file(GLOB_RECURSE bpf_headers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bpf/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CLANG} -g -O2 -target bpf -mcpu=v2 -D__TARGET_ARCH_${MXS_BPF_TARGET_ARCH} -Wall
            ${MXS_BPF_WERROR} -I${BPF_OUT} -I${CMAKE_SOURCE_DIR}/bpf -c ${src} -o ${obj}
    DEPENDS ${src} ${bpf_headers} ${BPF_OUT}/vmlinux.h
    COMMENT "BPF ${name}")
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "Skeleton ${name}")
  add_custom_target(${name}_skel DEPENDS ${skel})
endfunction()
