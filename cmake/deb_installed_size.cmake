# CPack post-build script (CPACK_POST_BUILD_SCRIPTS, cmake/package.cmake): corrects the
# Installed-Size of the .deb. CPack 3.25 counts each symlink as the file it points to, so the 13
# plugin links to nsnet-cni would claim 13 more copies of it (~76 MB instead of ~14 MB). The
# package is unpacked with dpkg-deb -R, the field set to the apparent size of its files in KiB
# (a symlink counts as its own few bytes, as dpkg-gencontrol counts), and packed again.

find_program(DPKG_DEB dpkg-deb REQUIRED)
find_program(DU du REQUIRED)
foreach(deb IN LISTS CPACK_PACKAGE_FILES)
  if(NOT deb MATCHES "\\.deb$")
    continue()
  endif()
  set(dir "${deb}.d")
  file(REMOVE_RECURSE "${dir}")
  execute_process(COMMAND "${DPKG_DEB}" -R "${deb}" "${dir}" COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND "${DU}" -s -k --apparent-size --exclude=DEBIAN "${dir}"
                  OUTPUT_VARIABLE du_out COMMAND_ERROR_IS_FATAL ANY)
  string(REGEX MATCH "^[0-9]+" size "${du_out}")
  file(READ "${dir}/DEBIAN/control" control)
  string(REGEX REPLACE "\nInstalled-Size: [0-9]+\n" "\nInstalled-Size: ${size}\n" control "${control}")
  file(WRITE "${dir}/DEBIAN/control" "${control}")
  execute_process(COMMAND "${DPKG_DEB}" --root-owner-group -Zgzip -b "${dir}" "${deb}"
                  OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  file(REMOVE_RECURSE "${dir}")
  message(STATUS "${deb}: Installed-Size ${size} KiB")
endforeach()
