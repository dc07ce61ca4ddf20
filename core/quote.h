// core/quote.h -- the only place identifiers and literals are quoted.
#pragma once

#include <string>
#include <string_view>

namespace automigrate {

// QuoteIdent("a\"b") == "\"a\"\"b\"": always double quotes, so keywords,
// spaces and unicode are safe.
std::string QuoteIdent(std::string_view name);
// QuoteLiteral("it's") == "'it''s'".
std::string QuoteLiteral(std::string_view text);
// "schema"."name", or just "name" when schema is empty or "main".
std::string QualifiedName(std::string_view schema, std::string_view name);

}  // namespace automigrate
