# Run by `cmake --install` (install(CODE) in packaging/CMakeLists.txt): writes
# the systemd unit and the example configuration for the prefix being
# installed to, then installs them as install(FILES) would (DESTDIR, the
# install manifest). The tree's versions name the /usr locations:
#   /usr/bin/jobd                  -> <prefix>/<bindir>/jobd
#   /usr/lib/jobd/plugins          -> <prefix>/<libdir>/jobd/plugins
#   /usr/libexec/jobd/jobd-worker  -> <prefix>/<libexecdir>/jobd/jobd-worker
#   /etc/jobd/jobd.conf            -> <sysconfdir>/jobd/jobd.conf
# where <sysconfdir> is /etc for the / and /usr prefixes, as GNUInstallDirs
# has it, and <prefix>/etc otherwise.
#
# Set before: JOBD_SOURCE, JOBD_STAGING, JOBD_BINDIR, JOBD_LIBDIR,
# JOBD_LIBEXECDIR, JOBD_SYSCONFDIR.

set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")

if(IS_ABSOLUTE "${JOBD_SYSCONFDIR}")
  set(sysconfdir "${JOBD_SYSCONFDIR}")
elseif(prefix STREQUAL "" OR prefix STREQUAL "/usr")
  set(sysconfdir "/${JOBD_SYSCONFDIR}")
else()
  set(sysconfdir "${prefix}/${JOBD_SYSCONFDIR}")
endif()

set(replacements
    "/usr/bin/jobd " "${prefix}/${JOBD_BINDIR}/jobd "
    "/usr/lib/jobd/plugins" "${prefix}/${JOBD_LIBDIR}/jobd/plugins"
    "/usr/libexec/jobd/jobd-worker" "${prefix}/${JOBD_LIBEXECDIR}/jobd/jobd-worker"
    "/etc/jobd/jobd.conf" "${sysconfdir}/jobd/jobd.conf")

# Written under names of their own, so that installs to several prefixes
# may run at once.
string(SHA1 tag "$ENV{DESTDIR}${prefix}")
string(SUBSTRING "${tag}" 0 12 tag)
string(RANDOM LENGTH 6 salt)
string(APPEND tag "-${salt}")
set(unit "${JOBD_STAGING}/jobd.service.${tag}")
set(example "${JOBD_STAGING}/jobd.conf.${tag}")

function(jobd_configure_file source out)
  file(READ "${source}" text)
  set(pairs ${replacements})
  while(pairs)
    list(POP_FRONT pairs from to)
    string(REPLACE "${from}" "${to}" text "${text}")
  endwhile()
  file(WRITE "${out}" "${text}")
endfunction()

jobd_configure_file("${JOBD_SOURCE}/systemd/jobd.service" "${unit}")
jobd_configure_file("${JOBD_SOURCE}/etc/jobd.conf" "${example}")

file(INSTALL DESTINATION "${prefix}/lib/systemd/system" TYPE FILE
     FILES "${unit}" RENAME jobd.service)
file(REMOVE "${unit}")

# An existing configuration is the administrator's: kept as it is, with the
# example beside it as jobd.conf.example.
set(config "$ENV{DESTDIR}${sysconfdir}/jobd/jobd.conf")
set(config_name jobd.conf)
if(EXISTS "${config}")
  file(READ "${config}" existing_text)
  file(READ "${example}" example_text)
  if(NOT existing_text STREQUAL example_text)
    message(STATUS "Keeping: ${config}")
    set(config_name jobd.conf.example)
  endif()
endif()
file(INSTALL DESTINATION "${sysconfdir}/jobd" TYPE FILE
     FILES "${example}" RENAME "${config_name}")
file(REMOVE "${example}")
