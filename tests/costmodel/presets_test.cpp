// Presets: the bundled files load, and malformed preset files fail naming the bad value.
#include "costmodel/presets.h"

#include <gtest/gtest.h>

#include "costmodel/embedded_data.h"

namespace gqaforge::costmodel {
namespace {

TEST(Presets, BundledFilesAreEmbedded) {
  EXPECT_TRUE(embedded_file("presets/models.json").has_value());
  EXPECT_TRUE(embedded_file("loss-model-default.json").has_value());
  EXPECT_FALSE(embedded_file("nope.json").has_value());
  auto p = Presets::bundled();
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->aspect_table().size(), 14u);
  for (size_t i = 1; i < p->aspect_table().size(); ++i) {
    EXPECT_GT(p->aspect_table()[i].params, p->aspect_table()[i - 1].params);
  }
  EXPECT_TRUE(p->find("LLAMA-3.1-8B").ok());  // case-insensitive
  EXPECT_TRUE(p->find("paper-64b").ok());
  auto missing = p->find("gpt-5");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("unknown model preset 'gpt-5' (known: "), std::string::npos);
  EXPECT_NE(missing.status().message().find("llama-3.2-1b"), std::string::npos);
}

TEST(Presets, MalformedFilesNameTheBadValue) {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"[1, 2", "p.json: line 1, column 6: expected ',' or ']'"},
      {R"({"format": "x", "version": 1})", "p.json: format 'x' is not 'gqaforge-presets'"},
      {R"({"format": "gqaforge-presets", "version": 1, "models": [{"name": "m", "layers": 0, "hidden": 8,
          "heads": 1, "kv_heads": 1, "head_dim": 8, "ffn": 8, "vocab": 8, "tied": true}]})",
       "p.json: models[0] model 'm': key 'layers' must be positive, got 0"},
      {R"({"format": "gqaforge-presets", "version": 1, "models": [{"name": "m", "layers": 2, "hidden": 8,
          "heads": 4, "kv_heads": 3, "head_dim": 8, "ffn": 8, "vocab": 8, "tied": true}]})",
       "p.json: models[0] model 'm': kv heads 3 must divide query heads 4"},
      {R"({"format": "gqaforge-presets", "version": 1, "models": [{"name": "m", "layers": 2, "hidden": "8",
          "heads": 4, "kv_heads": 4, "head_dim": 8, "ffn": 8, "vocab": 8, "tied": true}]})",
       "key 'hidden' is a string, expected a number"},
      {R"({"format": "gqaforge-presets", "version": 1, "aspect_table": [{"name": "a", "label": "A", "layers": 2, "hidden": 100}]})",
       "'aspect_table' must be an array of at least 2 shapes"},
      {R"({"format": "gqaforge-presets", "version": 1, "aspect_table": [{"name": "a", "label": "A", "layers": 2, "hidden": 100},
          {"name": "b", "label": "B", "layers": 4, "hidden": 128}]})",
       "p.json: aspect_table[0]: hidden 100 is not a multiple of head_dim 64"},
  };
  for (const Case& c : cases) {
    Presets p;
    Status s = p.add_document(c.text, "p.json");
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.message().find(c.needle), std::string::npos) << s.message();
  }
}

TEST(Presets, DuplicateNamesAreRefused) {
  auto p = Presets::bundled();
  ASSERT_TRUE(p.ok());
  Status s = p->add_document(R"({"format": "gqaforge-presets", "version": 1, "models": [{"name": "Llama-3.2-1B",
      "layers": 2, "hidden": 8, "heads": 1, "kv_heads": 1, "head_dim": 8, "ffn": 8, "vocab": 8, "tied": true}]})",
                             "u.json");
  EXPECT_EQ(s.message(), "u.json: models[0]: duplicate preset name 'Llama-3.2-1B'");
}

}  // namespace
}  // namespace gqaforge::costmodel
