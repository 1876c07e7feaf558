# The Debian package: `cpack -G DEB` in the release build dir. /usr for the prefix, the plugins in
# ${NSNET_CNI_BIN_DIR} (/opt/cni/bin), beside but never over Debian's containernetworking-plugins
# (/usr/lib/cni).

set(NSNET_PACKAGE_MAINTAINER "nsnet maintainers <maintainers@nsnet.invalid>"
    CACHE STRING "The Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nsnet)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${NSNET_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "container networking: CNI plugins, a namespaced-process launcher and a network lab")
set(CPACK_PACKAGE_DESCRIPTION
    "CNI plugins that replace the reference containernetworking/plugins (bridge, ptp, \
host-local, static, loopback, portmap, firewall, tuning, bandwidth, macvlan, host-device, tap, \
slirp4netns), with the same names, options and on-disk state, as one static multi-call binary. \
They are installed into ${NSNET_CNI_BIN_DIR}, where container runtimes look, and do not collide \
with Debian's containernetworking-plugins in /usr/lib/cni. Also the nsnet command: nsnet run \
(unshare with networking that always cleans up, rootless through slirp4netns or pasta), nsnet net \
(a cnitool-compatible CNI runtime) and nsnet lab (multi-node test networks in namespaces). No \
network configuration is installed into /etc/cni/net.d; examples are in /usr/share/nsnet/conf.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # nsnet_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The architecture is dpkg's (`dpkg --print-architecture`), CPack's default for DEB.

# The binaries are static; the one shared library they load is libnftables (dlopen()ed on first
# use, netcore::fw). A static glibc that dlopen()s needs the shared glibc of its own version at
# run time (libnftables1 and libc.so.6 get loaded beside it), hence the narrow libc6 range.
execute_process(COMMAND getconf GNU_LIBC_VERSION OUTPUT_VARIABLE nsnet_glibc
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libnftables1")
if(NSNET_STATIC_RUNTIME AND nsnet_glibc MATCHES "^glibc ([0-9]+)\\.([0-9]+)$")
  math(EXPR nsnet_glibc_next "${CMAKE_MATCH_2} + 1")
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS
         ", libc6 (>= ${CMAKE_MATCH_1}.${CMAKE_MATCH_2}), libc6 (<< ${CMAKE_MATCH_1}.${nsnet_glibc_next})")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "slirp4netns, uidmap")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "passt, graphviz")
if(NSNET_STATIC_RUNTIME)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)  # static: dpkg-shlibdeps would find nothing to add
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)   # a dynamic build: the libraries it links
endif()

# CPack counts each plugin link as a copy of nsnet-cni in Installed-Size: corrected afterwards.
set(CPACK_POST_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/deb_installed_size.cmake)

include(CPack)
