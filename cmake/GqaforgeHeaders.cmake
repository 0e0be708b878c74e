# Per-library include layout. Code spells includes from the source root ("core/status.h"), but
# no target gets the source root itself as an include directory: each target sees the headers
# of the libraries it links (transitively) and nothing else, so a layering error is a compile
# error. The headers a target exposes are staged as symlinks into a directory of its own,
#   ${PROJECT_BINARY_DIR}/include/<target>/<folder>/...
# which becomes its include directory. These libraries are internal: none of them or their
# headers is installed. What is installed is the C API (include/gqaforge/gqaforge.h and
# libgqaforge, cmake/GqaforgePackage.cmake), which bundles them.
include_guard(GLOBAL)

# gqaforge_library_headers(<target> <folder> [PRIVATE] [HEADERS <pattern>...])
#   folder   the source folder, relative to the project root ("core", "backends/cuda").
#   HEADERS  names or globs relative to the folder; default: every *.h and *.inc directly in it
#            (not its subfolders). A plain name that matches no file is an error.
#   PRIVATE  the headers are the target's own (a program's, a test's): staged and visible to
#            the target only; otherwise to every target linking it.
# Once per target: each call restages the target's whole directory. The globs are CONFIGURE_DEPENDS: a new header is staged at the next
# build without re-running cmake by hand. Sources stay explicit lists in add_library().
function(gqaforge_library_headers target folder)
  cmake_parse_arguments(ARG "PRIVATE" "" "HEADERS" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "gqaforge_library_headers(${target}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  get_target_property(staged ${target} GQAFORGE_HEADERS_STAGED)
  if(staged)
    message(FATAL_ERROR "gqaforge_library_headers(${target}): called twice; list every header in one call")
  endif()
  set_target_properties(${target} PROPERTIES GQAFORGE_HEADERS_STAGED ON)
  if(NOT ARG_HEADERS)
    set(ARG_HEADERS "*.h" "*.inc")
  endif()
  set(src_dir ${PROJECT_SOURCE_DIR}/${folder})
  set(headers "")
  foreach(pattern IN LISTS ARG_HEADERS)
    file(GLOB matched CONFIGURE_DEPENDS RELATIVE ${src_dir} ${src_dir}/${pattern})
    if(NOT matched AND NOT pattern MATCHES "[*?[]")
      message(FATAL_ERROR "gqaforge_library_headers(${target}): no header ${folder}/${pattern}")
    endif()
    list(APPEND headers ${matched})
  endforeach()
  list(REMOVE_DUPLICATES headers)

  # Rebuilt from scratch at every configure, so a header removed from the folder stops being
  # reachable. The links keep their targets' timestamps: restaging rebuilds nothing.
  set(stage ${PROJECT_BINARY_DIR}/include/${target})
  file(REMOVE_RECURSE ${stage})
  file(MAKE_DIRECTORY ${stage}/${folder})
  foreach(header IN LISTS headers)
    get_filename_component(subdir ${header} DIRECTORY)
    file(MAKE_DIRECTORY ${stage}/${folder}/${subdir})
    file(CREATE_LINK ${src_dir}/${header} ${stage}/${folder}/${header} SYMBOLIC)
  endforeach()

  if(ARG_PRIVATE)
    target_include_directories(${target} PRIVATE ${stage})
  else()
    target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${stage}>)
  endif()
endfunction()
