#include "core/quote.h"

namespace automigrate {
namespace {

std::string Quote(std::string_view s, char q) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back(q);
  for (char c : s) {
    if (c == q) out.push_back(q);
    out.push_back(c);
  }
  out.push_back(q);
  return out;
}

}  // namespace

std::string QuoteIdent(std::string_view name) { return Quote(name, '"'); }
std::string QuoteLiteral(std::string_view text) { return Quote(text, '\''); }

std::string QualifiedName(std::string_view schema, std::string_view name) {
  if (schema.empty() || schema == "main") return QuoteIdent(name);
  return QuoteIdent(schema) + "." + QuoteIdent(name);
}

}  // namespace automigrate
