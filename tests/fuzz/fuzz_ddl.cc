// tests/fuzz/fuzz_ddl.cc -- libFuzzer target for core/ddl.h: the tokenizer,
// the normalizer, the CREATE TABLE/INDEX parsers and the rename helpers on
// arbitrary bytes. Besides "no crash, no sanitizer report, no exception", it
// checks the contracts ddl.h states:
//   - every token is a verbatim slice of the input at its offset, tokens are
//     in order and do not overlap;
//   - Tokenize(sql) is Tokenize(sql, keep_comments) without the comments;
//   - every Span a parser returns lies inside the input;
//   - Normalize is a fixed point: normalizing its own output changes nothing
//     (two spellings that compare equal keep comparing equal).
//
// Input: the SQL text; when it holds a NUL byte, the bytes after the first
// NUL are the identifier RenameIdentifier replaces.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ddl.h"
#include "fuzz_common.h"

namespace ddl = automigrate::ddl;

namespace {

void CheckTokens(std::string_view sql, const std::vector<ddl::Token>& tokens) {
  size_t end = 0;
  for (const ddl::Token& t : tokens) {
    FUZZ_CHECK(t.offset >= end, "tokens overlap or go backwards");
    FUZZ_CHECK(t.offset + t.text.size() <= sql.size(), "token past the end of the input");
    FUZZ_CHECK(t.text.data() == sql.data() + t.offset, "token text is not the input slice");
    FUZZ_CHECK(!t.text.empty(), "empty token");
    end = t.offset + t.text.size();
    (void)t.Value();
    (void)ddl::NormalizeToken(t);
  }
}

void CheckSpan(std::string_view sql, const ddl::Span& span) {
  FUZZ_CHECK(span.begin <= span.end && span.end <= sql.size(), "span outside the input");
  (void)span.Of(sql);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view sql = input;
  std::string_view name = "t";
  if (size_t nul = input.find('\0'); nul != std::string_view::npos) {
    sql = input.substr(0, nul);
    name = input.substr(nul + 1);
  }

  std::vector<ddl::Token> plain = ddl::Tokenize(sql);
  std::vector<ddl::Token> with_comments = ddl::Tokenize(sql, /*keep_comments=*/true);
  CheckTokens(sql, plain);
  CheckTokens(sql, with_comments);
  size_t j = 0;
  for (const ddl::Token& t : with_comments) {
    if (t.kind == ddl::TokenKind::kComment) {
      (void)ddl::RenameHint(t.text);
      continue;
    }
    FUZZ_CHECK(j < plain.size() && plain[j].offset == t.offset && plain[j].text == t.text,
               "Tokenize(sql) differs from Tokenize(sql, true) without comments");
    ++j;
  }
  FUZZ_CHECK(j == plain.size(), "Tokenize(sql) has tokens Tokenize(sql, true) lacks");

  std::string norm = ddl::Normalize(sql);
  FUZZ_CHECK(ddl::Normalize(norm) == norm, "Normalize is not idempotent");

  (void)ddl::Lower(sql);
  (void)ddl::Affinity(sql);
  (void)ddl::RenameHint(sql);
  (void)ddl::Identifiers(sql);
  (void)ddl::TriggerTable(sql);
  if (std::optional<ddl::Span> span = ddl::FindObjectName(sql)) CheckSpan(sql, *span);
  if (std::optional<ddl::CreateTableDef> t = ddl::ParseCreateTable(sql)) {
    CheckSpan(sql, t->name_span);
    for (const ddl::ColumnDef& c : t->columns) (void)ddl::Affinity(c.type);
  }
  if (std::optional<ddl::CreateIndexDef> i = ddl::ParseCreateIndex(sql)) CheckSpan(sql, i->name_span);

  (void)ddl::RenameIdentifier(sql, name, "renamed");
  return 0;
}
