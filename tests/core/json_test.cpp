// Tests of the strict JSON parser and the deterministic writer.
#include "core/json.h"

#include <gtest/gtest.h>

namespace gqaforge {
namespace {

TEST(Json, ParsesAllValueTypes) {
  auto doc = Json::parse(R"({"a": 1, "b": -2.5e3, "c": "x\ny\u00e9\ud83d\ude00", "d": [true, false, null], "e": {}})");
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->find("a")->as_number(), 1);
  EXPECT_EQ(doc->find("b")->as_number(), -2500);
  EXPECT_EQ(doc->find("c")->as_string(), "x\ny\xc3\xa9\xf0\x9f\x98\x80");
  ASSERT_TRUE(doc->find("d")->is_array());
  EXPECT_EQ(doc->find("d")->size(), 3u);
  EXPECT_TRUE(doc->find("d")->as_array()[2].is_null());
  EXPECT_TRUE(doc->find("e")->is_object());
  EXPECT_EQ(doc->find("missing"), nullptr);
}

TEST(Json, ErrorsNameLineAndColumn) {
  auto r = Json::parse("{\n  \"a\": 1,\n  \"b\" 2\n}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 3, column 7"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("expected ':'"), std::string::npos);
}

TEST(Json, RejectsNonStandardInput) {
  for (const char* bad : {"[1, 2,]", "{\"a\": 1,}", "01", "1.", "-", "NaN", "[1] x", "\"unterminated", "{'a': 1}",
                          "{\"a\": 1, \"a\": 2}", "\"tab\there\"", "[1e999]", "tru", "\"\\x\"", "\"\\ud800\""}) {
    auto r = Json::parse(bad);
    EXPECT_FALSE(r.ok()) << "accepted: " << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_NE(Json::parse("{\"a\": 1, \"a\": 2}").status().message().find("duplicate key 'a'"), std::string::npos);
}

TEST(Json, RejectsDeepNesting) {
  std::string deep(300, '[');
  deep += std::string(300, ']');
  EXPECT_FALSE(Json::parse(deep).ok());
}

TEST(Json, WriterKeepsInsertionOrderAndRoundTrips) {
  Json doc = Json::object();
  doc.set("zeta", 1);
  doc.set("alpha", 0.1);
  doc.set("list", Json(Json::Array{Json(1), Json("two"), Json(nullptr)}));
  doc.set("nested", Json::object());
  doc.set("zeta", 3);  // replaces in place
  std::string text = doc.dump(-1);
  EXPECT_EQ(text, R"({"zeta":3,"alpha":0.1,"list":[1,"two",null],"nested":{}})");
  auto back = Json::parse(doc.dump(2));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->dump(-1), text);
}

TEST(Json, NumbersAreShortestRoundTrip) {
  EXPECT_EQ(json_number_text(0.1), "0.1");
  EXPECT_EQ(json_number_text(1e21), "1e+21");
  EXPECT_EQ(json_number_text(123456789012.0), "123456789012");
  EXPECT_EQ(json_number_text(-0.0), "0");
  EXPECT_EQ(json_number_text(1.0 / 3.0), "0.3333333333333333");
  for (double v : {1.0 / 3.0, 2.615, 6.02214076e23, 1e-300, 973146112.0}) {
    auto back = Json::parse(json_number_text(v));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->as_number(), v);
  }
  EXPECT_EQ(json_number_text(std::numeric_limits<double>::infinity()), "null");
}

TEST(Json, TypedAccessorsExplainMistakes) {
  auto doc = Json::parse(R"({"n": "3", "i": 2.5, "o": [1]})");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->number_at("n").status().message(), "key 'n' is a string, expected a number");
  EXPECT_EQ(doc->int_at("i").status().message(), "key 'i' is 2.5, expected an integer");
  EXPECT_EQ(doc->object_at("o").status().message(), "key 'o' is an array, expected an object");
  EXPECT_EQ(doc->string_at("x").status().message(), "missing key 'x'");
}

TEST(Json, EscapesControlCharactersOnOutput) {
  Json s(std::string("a\"b\\c\x01"));
  EXPECT_EQ(s.dump(-1), "\"a\\\"b\\\\c\\u0001\"");
}

}  // namespace
}  // namespace gqaforge
