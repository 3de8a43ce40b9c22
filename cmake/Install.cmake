# What `cmake --install` and `cmake --build build --target package` (CPack, Debian packages) ship.
#   runtime -> docker-delta:     the tool, the docker CLI plugin link, man pages, bash completion, docs
#   dev     -> docker-delta-dev: the static library, its public headers, the CMake package
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
include(${CMAKE_CURRENT_LIST_DIR}/PublicHeaders.cmake)

install(TARGETS docker_delta RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# `docker delta ...`: docker runs cli-plugins/docker-delta; the link makes it this binary.
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/cli-plugin)
file(CREATE_LINK ../../../${CMAKE_INSTALL_BINDIR}/docker_delta ${CMAKE_BINARY_DIR}/cli-plugin/docker-delta SYMBOLIC)
install(FILES ${CMAKE_BINARY_DIR}/cli-plugin/docker-delta DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/docker/cli-plugins
        COMPONENT runtime)

if(EXISTS ${PROJECT_SOURCE_DIR}/completions/docker_delta.bash)
  install(FILES ${PROJECT_SOURCE_DIR}/completions/docker_delta.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          RENAME docker_delta COMPONENT runtime)
endif()
if(EXISTS ${PROJECT_SOURCE_DIR}/completions/_docker_delta)
  install(FILES ${PROJECT_SOURCE_DIR}/completions/_docker_delta DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
          COMPONENT runtime)
endif()

# Man pages from docs/man/*.md, with pandoc when the build machine has it.
find_program(PANDOC pandoc)
file(GLOB MAN_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/*.1.md)
if(PANDOC AND MAN_SOURCES)
  set(man_pages "")
  foreach(source ${MAN_SOURCES})
    get_filename_component(page ${source} NAME_WLE)  # docker_delta-create.1
    set(out ${CMAKE_BINARY_DIR}/man/${page}.gz)
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${PANDOC} -s -t man ${source} -o ${CMAKE_BINARY_DIR}/man/${page}
      COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/man/${page}
      DEPENDS ${source} VERBATIM)
    list(APPEND man_pages ${out})
  endforeach()
  add_custom_target(man_pages ALL DEPENDS ${man_pages})
  install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
elseif(MAN_SOURCES)
  message(STATUS "pandoc not found: the man pages (docs/man/) are not built; apt-get install pandoc builds them")
endif()

install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/cli.md ${PROJECT_SOURCE_DIR}/docs/delta-format.md
              ${PROJECT_SOURCE_DIR}/docs/library.md ${PROJECT_SOURCE_DIR}/docs/architecture.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/docker-delta COMPONENT runtime)

# The library: only the public API (docs/library.md) and what it includes.
dd_header_closure(PUBLIC_HEADERS
  pipeline/stage.h pipeline/element.h pipeline/registry.h pipeline/runner.h pipeline/run_context.h
  cli/builtin_stages.h filters/layer_rewriting_filter.h formats/archive/tar_rewriter.h formats/archive/path_glob.h
  delta/receiver.h)
foreach(header ${PUBLIC_HEADERS})
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/docker_delta/${dir} COMPONENT dev)
endforeach()
install(TARGETS docker_delta_lib EXPORT docker_delta_targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
set(DD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/docker_delta)
install(EXPORT docker_delta_targets NAMESPACE docker_delta:: FILE docker_deltaTargets.cmake
        DESTINATION ${DD_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/docker_deltaConfig.cmake.in
  ${CMAKE_BINARY_DIR}/docker_deltaConfig.cmake INSTALL_DESTINATION ${DD_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/docker_deltaConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/docker_deltaConfig.cmake ${CMAKE_BINARY_DIR}/docker_deltaConfigVersion.cmake
        DESTINATION ${DD_CMAKE_DIR} COMPONENT dev)

# Debian packages: docker-delta_<version>_<arch>.deb and docker-delta-dev_<version>_<arch>.deb.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME docker-delta)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "docker_delta maintainers <docker-delta@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ship container images as small delta packages")
set(CPACK_PACKAGE_DESCRIPTION "docker_delta moves container images to machines that already hold an older version, as
small delta packages: layers the receiver has are not shipped, changed layers travel as binary deltas, and the
receiver rebuilds the exact image (same image ID, every layer digest checked). It also converts images between
docker archives, OCI layouts and archives and the docker daemon, and works as the docker CLI plugin 'docker delta'.")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_STRIP_FILES ON)  # the debug info stays in the build tree
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME docker-delta)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)  # Depends: from the binary's shared libraries
# xdelta3 and bsdiff are run for --method xdelta3 and bsdiff; docker for the plugin.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "xdelta3, bsdiff")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "docker.io | docker-ce-cli")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME docker-delta-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "docker-delta (= ${PROJECT_VERSION}), libarchive-dev, libzstd-dev, libisal-dev, \
liblzma-dev, libbz2-dev, zlib1g-dev, libssl-dev, nlohmann-json3-dev, libfmt-dev, libboost-dev, libyaml-cpp-dev, libcurl4-openssl-dev, libdivsufsort-dev, pkg-config")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION_SUMMARY}\n ${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_COMPONENT_DEV_DESCRIPTION "docker_delta: C++ library and headers for custom image pipelines\n The stage interface, \
registry, runner and built-in stages of docker_delta as a static library with a CMake package \
(find_package(docker_delta)).")
include(CPack)
