// JSON documents of the CLI.
#include "tools/json_output.h"

#include <cstdio>

namespace gqaforge::tools {

Json json_document(const char* command) {
  Json doc = Json::object();
  doc["schema_version"] = kJsonSchemaVersion;
  doc["command"] = command;
  return doc;
}

void print_json(const Json& doc) {
  std::string text = dump_json(doc);
  if (text.empty() || text.back() != '\n') text += '\n';
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace gqaforge::tools
