# The installed product is the C API, nothing else (docs/packaging.md). `cmake --install` puts
#   include/gqaforge/gqaforge.h                  the header (no CUDA header needed)
#   lib/libgqaforge.so.<SOVERSION> (and links)   the C API with the internal libraries linked in;
#                                                it exports only the gqaforge_* functions
#   lib/libgqaforge.a                            the same objects in one self-contained archive
#   bin/gqaforge                                 the CLI (tools/CMakeLists.txt)
#   lib/cmake/gqaforge/                          find_package(gqaforge CONFIG)
#   lib/pkgconfig/gqaforge.pc, gqaforge-static.pc
# The internal C++ static libraries and their headers stay in the build tree.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Before 1.0 a minor release may change the ABI, so the SONAME and the CMake version check
# follow major.minor (libgqaforge.so.0.1, SameMinorVersion); from 1.0 on, the major alone.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(GQAFORGE_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set(GQAFORGE_VERSION_COMPATIBILITY SameMinorVersion)
else()
  set(GQAFORGE_SOVERSION ${PROJECT_VERSION_MAJOR})
  set(GQAFORGE_VERSION_COMPATIBILITY SameMajorVersion)
endif()

# What a program linking libgqaforge.a links besides it: the libraries the bundled code uses that
# are not header-only. gqaforgeConfig.cmake.in finds the same packages and GQAFORGE_PC_STATIC_LIBS
# below names the same libraries; a new one goes into all three (the check below says so).
set(GQAFORGE_STATIC_DEPS SQLite::SQLite3 CUDA::nvrtc Threads::Threads ${CMAKE_DL_LIBS})

# _gqaforge_bundled(<out_internal> <out_external> <target>): the project's own static libraries
# <target> links, transitively, and the other libraries they link.
function(_gqaforge_bundled out_internal out_external root)
  set(queue ${root})
  set(internal "")
  set(external "")
  while(queue)
    list(POP_FRONT queue target)
    get_target_property(deps ${target} LINK_LIBRARIES)
    if(NOT deps)
      continue()
    endif()
    foreach(dep IN LISTS deps)
      # "::@(dir)" brackets links added from another directory than the target's.
      if(dep MATCHES "^::@")
        continue()
      endif()
      if(NOT TARGET ${dep})
        list(APPEND external ${dep})
        continue()
      endif()
      get_target_property(aliased ${dep} ALIASED_TARGET)
      if(aliased)
        set(dep ${aliased})
      endif()
      get_target_property(type ${dep} TYPE)
      get_target_property(imported ${dep} IMPORTED)
      if(imported)
        list(APPEND external ${dep})
      elseif(type STREQUAL "STATIC_LIBRARY" AND NOT dep IN_LIST internal)
        list(APPEND internal ${dep})
        list(APPEND queue ${dep})
      endif()
    endforeach()
  endwhile()
  list(REMOVE_DUPLICATES external)
  set(${out_internal} ${internal} PARENT_SCOPE)
  set(${out_external} ${external} PARENT_SCOPE)
endfunction()

# gqaforge_package(<shared target>): the version of the C API's shared library, its static
# variant, and the install rules of the package. Called once every target is defined (it reads
# their links).
function(gqaforge_package shared)
  set_target_properties(${shared} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${GQAFORGE_SOVERSION}
                                             EXPORT_NAME gqaforge)

  # libgqaforge.a: the shared library's own objects and those of every internal library it links,
  # in one archive, so a consumer links it and only GQAFORGE_STATIC_DEPS. Nothing is compiled
  # twice: all code is position-independent for the shared library already.
  _gqaforge_bundled(internal external ${shared})
  set(objects $<TARGET_OBJECTS:${shared}>)
  foreach(lib IN LISTS internal)
    list(APPEND objects $<TARGET_OBJECTS:${lib}>)
  endforeach()
  add_library(gqaforge_capi_static STATIC ${objects})
  add_library(gqaforge::gqaforge_static ALIAS gqaforge_capi_static)
  set_target_properties(gqaforge_capi_static PROPERTIES OUTPUT_NAME gqaforge EXPORT_NAME gqaforge_static
                                                        LINKER_LANGUAGE CXX)
  target_include_directories(gqaforge_capi_static INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(gqaforge_capi_static INTERFACE ${GQAFORGE_STATIC_DEPS})
  # A library the bundled code links that is neither header-only nor listed would be an
  # undefined reference in every static consumer: stop here instead.
  foreach(dep IN LISTS external)
    if(TARGET ${dep} AND NOT dep STREQUAL "Threads::Threads")
      get_target_property(type ${dep} TYPE)
      if(type STREQUAL "INTERFACE_LIBRARY")
        continue()
      endif()
    endif()
    if(NOT dep IN_LIST GQAFORGE_STATIC_DEPS)
      message(FATAL_ERROR "libgqaforge.a bundles code linking ${dep}: add it to GQAFORGE_STATIC_DEPS and "
                          "GQAFORGE_PC_STATIC_LIBS (cmake/GqaforgePackage.cmake) and to gqaforgeConfig.cmake.in")
    endif()
  endforeach()

  set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/gqaforge)
  install(FILES ${PROJECT_SOURCE_DIR}/include/gqaforge/gqaforge.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gqaforge)
  install(TARGETS ${shared} EXPORT gqaforgeTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(TARGETS gqaforge_capi_static EXPORT gqaforgeStaticTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT gqaforgeTargets NAMESPACE gqaforge:: DESTINATION ${config_dir})
  install(EXPORT gqaforgeStaticTargets NAMESPACE gqaforge:: DESTINATION ${config_dir})

  set(stage ${PROJECT_BINARY_DIR}/package)
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gqaforgeConfig.cmake.in ${stage}/gqaforgeConfig.cmake
                                INSTALL_DESTINATION ${config_dir})
  write_basic_package_version_file(${stage}/gqaforgeConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                   COMPATIBILITY ${GQAFORGE_VERSION_COMPATIBILITY})
  install(FILES ${stage}/gqaforgeConfig.cmake ${stage}/gqaforgeConfigVersion.cmake DESTINATION ${config_dir})

  # The .pc files find the prefix from their own location, so a tree installed with
  # `cmake --install --prefix P`, or moved, stays correct.
  set(pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
  if(IS_ABSOLUTE ${CMAKE_INSTALL_LIBDIR} OR IS_ABSOLUTE ${CMAKE_INSTALL_INCLUDEDIR})
    message(FATAL_ERROR "gqaforge.pc: CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR must be relative to the prefix")
  endif()
  file(RELATIVE_PATH GQAFORGE_PC_TO_PREFIX /${pc_dir} /)
  string(REGEX REPLACE "/$" "" GQAFORGE_PC_TO_PREFIX "${GQAFORGE_PC_TO_PREFIX}")
  # GQAFORGE_STATIC_DEPS as linker flags; NVRTC lives in the CUDA toolkit's library directory.
  get_target_property(nvrtc_location CUDA::nvrtc IMPORTED_LOCATION)
  get_filename_component(nvrtc_dir ${nvrtc_location} DIRECTORY)
  set(GQAFORGE_PC_STATIC_LIBS "-lsqlite3 -L${nvrtc_dir} -lnvrtc -ldl -lpthread -lstdc++ -lm")
  foreach(pc gqaforge gqaforge-static)
    configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${stage}/${pc}.pc @ONLY)
    install(FILES ${stage}/${pc}.pc DESTINATION ${pc_dir})
  endforeach()
endfunction()
