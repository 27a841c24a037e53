# Installing lockgraph, and its Debian package.
#
#   cmake --install build --prefix DIR    (make install PREFIX=DIR)
#     DIR/bin/lockgraph                       the front end
#     DIR/lib/lockgraph/liblockgraph.so       the preloaded library, found relative to the front end
#     DIR/share/man/man1/lockgraph.1          the man page
#     DIR/share/doc/lockgraph/lockgraph.md    the guide (the README is this checkout's: its links
#                                             lead into the checkout, so it stays here)
#   cpack -G DEB in the build tree           (make deb) lockgraph_<version>_<arch>.deb
#
# Only lockgraph is installed: the hazard programs, the harness and the tests belong to this
# checkout. The library goes to a directory of its own rather than the multiarch libdir, so the
# front end's relative path is the same for every prefix and a moved tree keeps working.

# The package's version is the one `lockgraph --version` prints.
file(STRINGS ${PROJECT_SOURCE_DIR}/detector/lockgraph.h _lg_version_line
     REGEX "^#define LG_VERSION \"[0-9.]+\"")
string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" LG_PACKAGE_VERSION "${_lg_version_line}")

install(TARGETS lockgraph_cli RUNTIME DESTINATION bin COMPONENT lockgraph)
install(TARGETS lockgraph LIBRARY DESTINATION lib/lockgraph COMPONENT lockgraph)
install(FILES ${PROJECT_SOURCE_DIR}/docs/lockgraph.1 DESTINATION share/man/man1 COMPONENT lockgraph)
install(FILES ${PROJECT_SOURCE_DIR}/docs/lockgraph.md DESTINATION share/doc/lockgraph
        COMPONENT lockgraph)

set(CPACK_PACKAGE_NAME lockgraph)
set(CPACK_PACKAGE_VERSION ${LG_PACKAGE_VERSION})
set(CPACK_PACKAGE_CONTACT "lockgraph maintainers <lockgraph@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "LD_PRELOAD lock-order and deadlock detector for pthread programs")
set(CPACK_PACKAGE_DESCRIPTION
  "lockgraph runs a program with a preloaded library that builds the order in which its
threads take pthread locks, and reports lock-order cycles (potential deadlocks), deadlocks
that happen, and locks relocked by their owner, with symbolized stacks. Reports are text,
JSON Lines and SARIF 2.1.0.")
set(CPACK_PACKAGE_FILE_NAME_DEB DEB-DEFAULT)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The library links libunwind, libdw and libelf: the dependencies come from dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES OFF) # the library's own symbols stay readable in its reports
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL OFF)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/packages)
include(CPack)
