// JSON documents of the CLI.
#include "tools/json_output.h"

#include <cstdio>

namespace gqaforge::cli {

Json json_document(const char* command) {
  Json doc = Json::object();
  doc.set("schema_version", kJsonSchemaVersion);
  doc.set("command", command);
  return doc;
}

void print_json(const Json& doc) {
  std::string text = doc.dump(2);
  if (text.empty() || text.back() != '\n') text += '\n';
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace gqaforge::cli
