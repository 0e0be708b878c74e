// Tests of the project's JSON layer over nlohmann-json: the non-throwing parse and its messages,
// the stable writer, and the typed accessors.
#include "core/json.h"

#include <gtest/gtest.h>

#include <limits>

namespace gqaforge {
namespace {

TEST(Json, ParsesAllValueTypes) {
  auto doc = parse_json(R"({"a": 1, "b": -2.5e3, "c": "x\ny\u00e9\ud83d\ude00", "d": [true, false, null], "e": {}})");
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(*json_number_at(*doc, "a"), 1);
  EXPECT_EQ(*json_number_at(*doc, "b"), -2500);
  EXPECT_EQ(*json_string_at(*doc, "c"), "x\ny\xc3\xa9\xf0\x9f\x98\x80");
  const Json* d = json_find(*doc, "d");
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->is_array());
  EXPECT_EQ(d->size(), 3u);
  EXPECT_TRUE((*d)[2].is_null());
  EXPECT_TRUE(json_find(*doc, "e")->is_object());
  EXPECT_EQ(json_find(*doc, "missing"), nullptr);
  EXPECT_EQ(json_find(*d, "a"), nullptr) << "not an object";
}

TEST(Json, ErrorsNameLineAndColumn) {
  auto r = parse_json("{\n  \"a\": 1,\n  \"b\" 2\n}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 3, column 7: expected ':' after key 'b', found number literal");
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"[1, 2", "line 1, column 6: expected ',' or ']' in array, found end of input"},
      {"{", "line 1, column 2: expected a quoted key, found end of input"},
      {"{\"a\": 1 \"b\": 2}", "line 1, column 9: expected ',' or '}' after object member, found string literal"},
      {"[1] x", "line 1, column 5: invalid literal"},
      {"[1] 2", "line 1, column 5: unexpected number literal after the JSON value"},
      {"", "line 1, column 1: expected a value, found end of input"},
      {"{\"a\": 1,\n \"a\": 2}", "line 2, column 2: duplicate key 'a'"},
      {"{\"k\\\"\": 1, \"k\\\"\": 2}", "line 1, column 12: duplicate key 'k\"'"},
      {"[1e999]", "line 1, column 2: number overflow parsing '1e999'"},
      {"[tru]", "line 1, column 5: invalid literal"},
      {"\"a\tb\"", "line 1, column 3: invalid string: control character U+0009 (HT) must be escaped"},
  };
  for (const Case& c : cases) {
    auto e = parse_json(c.text);
    ASSERT_FALSE(e.ok()) << c.text;
    EXPECT_EQ(e.status().message().rfind(c.message, 0), 0u) << c.text << " -> " << e.status().message();
  }
}

TEST(Json, RejectsNonStandardInput) {
  for (const char* bad :
       {"[1, 2,]", "{\"a\": 1,}", "01", "1.", "-", "NaN", "[1] x", "\"unterminated", "{'a': 1}", "{\"a\": 1, \"a\": 2}",
        "\"tab\there\"", "[1e999]", "tru", "\"\\x\"", "\"\\ud800\"", "// comment\n1", "\"\xff\""}) {
    auto r = parse_json(bad);
    EXPECT_FALSE(r.ok()) << "accepted: " << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(Json, RejectsDeepNesting) {
  std::string deep(300, '[');
  deep += std::string(300, ']');
  auto r = parse_json(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 1, column 257: nesting deeper than 256 levels");
  std::string fine(256, '[');
  fine += std::string(256, ']');
  EXPECT_TRUE(parse_json(fine).ok());
}

TEST(Json, WriterKeepsInsertionOrderAndRoundTrips) {
  Json doc = Json::object();
  doc["zeta"] = 1;
  doc["alpha"] = 0.1;
  doc["list"] = Json::array({1, "two", nullptr});
  doc["nested"] = Json::object();
  doc["zeta"] = 3;  // replaces in place
  std::string text = dump_json(doc, -1);
  EXPECT_EQ(text, R"({"zeta":3,"alpha":0.1,"list":[1,"two",null],"nested":{}})");
  auto back = parse_json(dump_json(doc, 2));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(dump_json(*back, -1), text);
}

TEST(Json, PrettyLayoutKeepsScalarArraysOnOneLine) {
  Json doc = Json::object();
  doc["terms"] = Json::array({1.5, 2, -3});
  doc["rows"] = Json::array({Json::object({{"a", 1}}), Json::array()});
  doc["empty"] = Json::object();
  EXPECT_EQ(dump_json(doc),
            "{\n"
            "  \"terms\": [1.5, 2, -3],\n"
            "  \"rows\": [\n"
            "    {\n"
            "      \"a\": 1\n"
            "    },\n"
            "    []\n"
            "  ],\n"
            "  \"empty\": {}\n"
            "}\n");
}

TEST(Json, NumbersAreShortestRoundTrip) {
  EXPECT_EQ(json_number_text(0.1), "0.1");
  EXPECT_EQ(json_number_text(1e21), "1e+21");
  EXPECT_EQ(json_number_text(123456789012.0), "123456789012");
  EXPECT_EQ(json_number_text(-0.0), "0");
  EXPECT_EQ(json_number_text(1.0 / 3.0), "0.3333333333333333");
  for (double v : {1.0 / 3.0, 2.615, 6.02214076e23, 1e-300, 973146112.0}) {
    auto back = parse_json(json_number_text(v));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->get<double>(), v);
  }
  // Whole doubles print like integers, integers exactly; the writer's numbers read back.
  Json doc = Json::array({3.0, int64_t{-7}, uint64_t{1} << 60, 2.5e-7});
  EXPECT_EQ(dump_json(doc, -1), "[3,-7,1152921504606846976,2.5e-07]");
  auto back = parse_json(dump_json(doc, -1));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(dump_json(*back, -1), dump_json(doc, -1));
}

TEST(Json, NonFiniteNumbersWriteAsNull) {
  EXPECT_EQ(json_number_text(std::numeric_limits<double>::infinity()), "null");
  Json doc = Json::object();
  doc["nan"] = std::numeric_limits<double>::quiet_NaN();
  doc["inf"] = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(dump_json(doc, -1), R"({"nan":null,"inf":null})");
}

TEST(Json, TypedAccessorsExplainMistakes) {
  auto doc = parse_json(R"({"n": "3", "i": 2.5, "o": [1], "big": 18446744073709551615, "w": 4.0, "b": null})");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(json_number_at(*doc, "n").status().message(), "key 'n' is a string, expected a number");
  EXPECT_EQ(json_int_at(*doc, "i").status().message(), "key 'i' is 2.5, expected an integer");
  EXPECT_EQ(json_int_at(*doc, "big").status().message(), "key 'big' is 18446744073709551615, expected an integer");
  EXPECT_EQ(*json_int_at(*doc, "w"), 4);
  EXPECT_EQ(json_object_at(*doc, "o").status().message(), "key 'o' is an array, expected an object");
  EXPECT_EQ(json_bool_at(*doc, "b").status().message(), "key 'b' is a null, expected a boolean");
  EXPECT_EQ(json_string_at(*doc, "x").status().message(), "missing key 'x'");
  EXPECT_EQ(json_number_at(Json::array(), "x").status().message(), "missing key 'x'");
}

TEST(Json, NothingThrowsAtTheBoundary) {
  // Malformed input and wrongly typed reads come back as a Status, never as an exception.
  for (std::string bad : {std::string("\xc3\x28"), std::string("[\"\xed\xa0\x80\"]"), std::string("\0", 1),
                          std::string("{\"a\":"), std::string(100000, '{')}) {
    EXPECT_NO_THROW(EXPECT_FALSE(parse_json(bad).ok()));
  }
  Json s = Json("x");
  EXPECT_NO_THROW(EXPECT_FALSE(json_int_at(s, "k").ok()));
  // Invalid UTF-8 built in memory is written with U+FFFD rather than refused.
  EXPECT_NO_THROW(EXPECT_EQ(dump_json(Json(std::string("a\xff")), -1), "\"a\xef\xbf\xbd\""));
}

TEST(Json, EscapesControlCharactersOnOutput) {
  Json s(std::string("a\"b\\c\x01\n"));
  EXPECT_EQ(dump_json(s, -1), "\"a\\\"b\\\\c\\u0001\\n\"");
}

}  // namespace
}  // namespace gqaforge
