# Turns the kernel template headers into a C++ source with one raw string literal each, so the
# binary hands them to NVRTC from memory and never reads the source tree at run time.
# Inputs: HEADERS (paths separated by "|"), OUTPUT (generated .cpp).
string(REPLACE "|" ";" HEADERS "${HEADERS}")
set(body "// Generated from codegen/kernels by embed_headers.cmake. Do not edit.\n")
string(APPEND body "#include \"codegen/source.h\"\n\nnamespace gqaforge::codegen {\n")
string(APPEND body "const std::vector<EmbeddedHeader>& embedded_headers() {\n")
string(APPEND body "  static const std::vector<EmbeddedHeader> headers = {\n")
list(SORT HEADERS)
foreach(path ${HEADERS})
  get_filename_component(name ${path} NAME)
  file(READ ${path} text)
  string(APPEND body "    {\"${name}\", R\"gqf_embed(${text})gqf_embed\"},\n")
endforeach()
string(APPEND body "  };\n  return headers;\n}\n}  // namespace gqaforge::codegen\n")
file(WRITE ${OUTPUT}.tmp "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUTPUT}.tmp ${OUTPUT})
