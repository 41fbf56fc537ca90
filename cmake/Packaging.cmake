# Install rules and the Debian package (CPack, DEB generator): what `cmake --install` puts where, and
# what scripts/package turns into pgtenant_<version>_amd64.deb.
#
# Layout under the install prefix (scripts/package configures with /usr, where GNUInstallDirs puts
# the configuration under /etc):
#   bin/pgtenant                            the binary (pgtenant doctor is part of it)
#   share/man/man8/pgtenant.8.gz            man/pgtenant.8 with its version filled in
#   share/doc/pgtenant/examples/*.yaml      config/examples
#   lib/systemd/system/pgtenant.service     ops/systemd/pgtenant.service, paths made to match the prefix
#   SYSCONFDIR/pgtenant/pgtenant.yaml       config/examples/minimal.yaml, to edit (a conffile)
#   SYSCONFDIR/logrotate.d/pgtenant         ops/logrotate/pgtenant
include(GNUInstallDirs)

install(TARGETS pgtenant RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# /etc for the /usr prefix (GNUInstallDirs' rule); otherwise etc/ under the prefix, kept relative so that
# `cmake --install --prefix DIR` and DESTDIR put it under DIR.
if(IS_ABSOLUTE "${CMAKE_INSTALL_SYSCONFDIR}" OR CMAKE_INSTALL_FULL_SYSCONFDIR STREQUAL "/etc")
  set(PGTENANT_SYSCONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}")
else()
  set(PGTENANT_SYSCONFDIR "${CMAKE_INSTALL_SYSCONFDIR}")
endif()

# The man page, gzipped as Debian ships them; -n keeps the archive free of a time stamp.
set(PGTENANT_VERSION ${PROJECT_VERSION})
configure_file(${CMAKE_SOURCE_DIR}/man/pgtenant.8 ${CMAKE_BINARY_DIR}/man/pgtenant.8 @ONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/pgtenant.8.gz
                   COMMAND gzip -9 -n -f -k ${CMAKE_BINARY_DIR}/man/pgtenant.8
                   DEPENDS ${CMAKE_BINARY_DIR}/man/pgtenant.8
                   COMMENT "Compressing the man page pgtenant(8)")
add_custom_target(pgtenant_man ALL DEPENDS ${CMAKE_BINARY_DIR}/man/pgtenant.8.gz)
install(FILES ${CMAKE_BINARY_DIR}/man/pgtenant.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

install(FILES ${CMAKE_SOURCE_DIR}/config/examples/minimal.yaml ${CMAKE_SOURCE_DIR}/config/examples/full.yaml
              ${CMAKE_SOURCE_DIR}/config/examples/demo.yaml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${CMAKE_SOURCE_DIR}/config/examples/minimal.yaml
        DESTINATION ${PGTENANT_SYSCONFDIR}/pgtenant RENAME pgtenant.yaml)
install(FILES ${CMAKE_SOURCE_DIR}/ops/logrotate/pgtenant DESTINATION ${PGTENANT_SYSCONFDIR}/logrotate.d)

# The unit names /usr/bin/pgtenant and /etc/...: under another prefix, the paths it is installed with.
set(PGTENANT_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where pgtenant.service is installed (relative to the prefix, or absolute)")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/ops/systemd/pgtenant.service)
file(READ ${CMAKE_SOURCE_DIR}/ops/systemd/pgtenant.service pgtenant_unit)
string(REPLACE "/usr/bin/pgtenant" "${CMAKE_INSTALL_FULL_BINDIR}/pgtenant" pgtenant_unit "${pgtenant_unit}")
string(REPLACE "/etc/" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/" pgtenant_unit "${pgtenant_unit}")
file(WRITE ${CMAKE_BINARY_DIR}/ops/pgtenant.service "${pgtenant_unit}")
install(FILES ${CMAKE_BINARY_DIR}/ops/pgtenant.service DESTINATION ${PGTENANT_SYSTEMD_UNIT_DIR})

# The Debian package. Depends: the shared libraries the binary links (dpkg-shlibdeps) and adduser
# (postinst creates the pgtenant system user).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgtenant)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "tenant-aware PostgreSQL wire-protocol proxy")
set(CPACK_PACKAGE_DESCRIPTION
    "pgtenant authenticates PostgreSQL clients, finds each client's tenant, routes its session to the\n"
    "tenant's isolation target (Row-Level Security, a schema or a database of its own), keeps the\n"
    "tenant context on every server session, checks every statement with PostgreSQL's parser, and\n"
    "pools server connections. Audit events and Prometheus metrics are labelled by tenant.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_PACKAGE_CONTACT "pgtenant developers <pgtenant@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # pgtenant_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql-client")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# conffiles names /etc paths: the package is only right with the /usr prefix scripts/package uses.
configure_file(${CMAKE_SOURCE_DIR}/ops/debian/conffiles ${CMAKE_BINARY_DIR}/debian/conffiles @ONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/ops/debian/postinst ${CMAKE_SOURCE_DIR}/ops/debian/prerm ${CMAKE_SOURCE_DIR}/ops/debian/postrm
    ${CMAKE_BINARY_DIR}/debian/conffiles)
include(CPack)
