# What `cmake --install` puts on a host; the Debian package (debian/rules) installs through
# it, so the two ship the same set:
#
#   sbin/mxsense, sbin/mx-switchover                     the agent and the MX switchover hook
#   <unitdir>/mxsense.service                            the systemd unit, its paths set to these
#   <prefix>/lib/sysusers.d/mxsense.conf                 the system user mxsense (systemd-sysusers)
#   <sysconfdir>/mxsense/mxsense.yaml                    the commented default configuration
#                                                        (never overwritten: an edited one stays)
#   /var/lib/mxsense                                     the state directory (state_file's default)
#   share/man/man8/mxsense.8, mx-switchover.8            from docs/man/*.md by pandoc
#   share/bash-completion/completions/mxsense
#   share/mxsense/dashboards/*.json, prometheus/*.yml    Grafana dashboards, rules, Alertmanager
#   share/doc/mxsense/                                   README, docs/*.md, the default config
#
# With the prefix /usr (the package) the unit is packaging/mxsense.service as it is; with
# another (/usr/local by default) its paths follow: <prefix>/sbin/mxsense and
# <prefix>/etc/mxsense/mxsense.yaml. After a plain `cmake --install`: `systemd-sysusers`
# (makes the user) and `systemctl daemon-reload`; the package's maintainer scripts do both.
include_guard(GLOBAL)
include(GNUInstallDirs)

set(MXS_SYSTEMD_UNITDIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system"
    CACHE PATH "Where the systemd unit is installed (Debian 12: /lib/systemd/system)")
set(MXS_SYSUSERSDIR "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d"
    CACHE PATH "Where the sysusers.d file making the user mxsense is installed")
# The man pages are converted at build time; pandoc is not in the project's build set (a
# developer's tree does without them), the package build requires them (ON).
set(MXS_MANPAGES AUTO CACHE STRING "Build and install the man pages with pandoc: AUTO, ON, OFF")
set_property(CACHE MXS_MANPAGES PROPERTY STRINGS AUTO ON OFF)

install(TARGETS mxsense RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(PROGRAMS ${CMAKE_SOURCE_DIR}/scripts/mx-switchover DESTINATION ${CMAKE_INSTALL_SBINDIR})

# The unit with the installed paths (unchanged for the prefix /usr).
file(READ ${CMAKE_SOURCE_DIR}/packaging/mxsense.service _mxs_unit)
string(REPLACE "/usr/sbin/" "${CMAKE_INSTALL_FULL_SBINDIR}/" _mxs_unit "${_mxs_unit}")
string(REPLACE "/etc/mxsense/" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mxsense/" _mxs_unit "${_mxs_unit}")
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/packaging/mxsense.service CONTENT "${_mxs_unit}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/packaging/mxsense.service)
install(FILES ${CMAKE_BINARY_DIR}/packaging/mxsense.service DESTINATION ${MXS_SYSTEMD_UNITDIR})
install(FILES ${CMAKE_SOURCE_DIR}/packaging/mxsense.sysusers DESTINATION ${MXS_SYSUSERSDIR}
        RENAME mxsense.conf)

# The configuration: installed where none is, kept where one is (an operator's edits are never
# overwritten by a reinstall; the package's conffile handling is dpkg's). The default stays
# beside the documentation for comparison.
set(_mxs_conf_dir ${CMAKE_INSTALL_FULL_SYSCONFDIR}/mxsense)
install(CODE "
  set(_dest \"\$ENV{DESTDIR}${_mxs_conf_dir}\")
  if(EXISTS \"\${_dest}/mxsense.yaml\")
    message(STATUS \"Kept: \${_dest}/mxsense.yaml (the default is in ${CMAKE_INSTALL_FULL_DOCDIR}/examples)\")
  else()
    # file(INSTALL) puts DESTDIR before the absolute destination itself.
    file(INSTALL \"${CMAKE_SOURCE_DIR}/packaging/mxsense.yaml\" DESTINATION \"${_mxs_conf_dir}\"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()")
install(FILES ${CMAKE_SOURCE_DIR}/packaging/mxsense.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# The agent's state_file default is /var/lib/mxsense/state.json whatever the prefix.
install(DIRECTORY DESTINATION /var/lib/mxsense)

# Man pages: docs/man/NAME.8.md -> NAME.8 (pandoc's man writer).
if(NOT MXS_MANPAGES STREQUAL "OFF")
  find_program(PANDOC pandoc)
  if(NOT PANDOC AND MXS_MANPAGES STREQUAL "ON")
    message(FATAL_ERROR "MXS_MANPAGES=ON: pandoc not found (Debian: apt-get install pandoc)")
  endif()
  if(PANDOC)
    set(_mxs_man_pages)
    foreach(page mxsense mx-switchover)
      set(_src ${CMAKE_SOURCE_DIR}/docs/man/${page}.8.md)
      # build/man/man8/: a MANPATH entry (packaging.systemd_unit lets man find them there)
      set(_out ${CMAKE_BINARY_DIR}/man/man8/${page}.8)
      add_custom_command(OUTPUT ${_out}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man/man8
        COMMAND ${PANDOC} --standalone --from markdown --to man ${_src} --output ${_out}
        DEPENDS ${_src} COMMENT "Man page ${page}(8)")
      list(APPEND _mxs_man_pages ${_out})
    endforeach()
    add_custom_target(man ALL DEPENDS ${_mxs_man_pages})
    install(FILES ${_mxs_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
  else()
    message(STATUS "pandoc not found: no man pages (MXS_MANPAGES=ON requires them)")
  endif()
endif()

install(FILES ${CMAKE_SOURCE_DIR}/packaging/bash-completion/mxsense
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# Dashboards and rules (globbed: a new dashboard or rule file ships without an edit here).
file(GLOB _mxs_dashboards CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/dashboards/*.json)
install(FILES ${_mxs_dashboards} DESTINATION ${CMAKE_INSTALL_DATADIR}/mxsense/dashboards)
file(GLOB _mxs_rules CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/prometheus/*.yml)
install(FILES ${_mxs_rules} DESTINATION ${CMAKE_INSTALL_DATADIR}/mxsense/prometheus)

file(GLOB _mxs_docs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${_mxs_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})
