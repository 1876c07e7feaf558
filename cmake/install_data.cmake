# Installed data: the example networks and lab topologies, bash completion, and (once it exists)
# the node installer. Nothing goes into a CNI config dir (/etc/cni/net.d): every runtime on the
# machine would pick it up. The default network of `nsnet run` is one of the examples
# (share/nsnet/conf/00-nsnet.conflist); the launcher reads it from there (cni_setup.hpp).

file(GLOB nsnet_example_networks CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/conf/*.conflist
                                                   ${PROJECT_SOURCE_DIR}/conf/*.conf)
install(FILES ${nsnet_example_networks} DESTINATION ${CMAKE_INSTALL_DATADIR}/nsnet/conf)
file(GLOB nsnet_lab_examples CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/conf/lab/*)
install(FILES ${nsnet_lab_examples} DESTINATION ${CMAKE_INSTALL_DATADIR}/nsnet/conf/lab)

install(FILES ${PROJECT_SOURCE_DIR}/conf/completion/nsnet.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME nsnet)

# scripts/install-node.sh (issue #10, part 3) copies the plugins onto a cluster node.
if(EXISTS ${PROJECT_SOURCE_DIR}/scripts/install-node.sh)
  install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/install-node.sh
          DESTINATION ${CMAKE_INSTALL_DATADIR}/nsnet)
endif()
