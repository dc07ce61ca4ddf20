#include "core/plan.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace automigrate {

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kCreateTable: return "create_table";
    case Op::kDropTable: return "drop_table";
    case Op::kRebuildTable: return "rebuild_table";
    case Op::kRenameTable: return "rename_table";
    case Op::kAddColumn: return "add_column";
    case Op::kDropColumn: return "drop_column";
    case Op::kRenameColumn: return "rename_column";
    case Op::kCreateIndex: return "create_index";
    case Op::kDropIndex: return "drop_index";
    case Op::kCreateView: return "create_view";
    case Op::kDropView: return "drop_view";
    case Op::kCreateTrigger: return "create_trigger";
    case Op::kDropTrigger: return "drop_trigger";
    case Op::kAlterTableInPlace: return "alter_table_in_place";
  }
  return "unknown";
}

std::string_view ComplexityName(Complexity c) {
  switch (c) {
    case Complexity::kSimple: return "SIMPLE";
    case Complexity::kModerate: return "MODERATE";
    case Complexity::kComplex: return "COMPLEX";
  }
  return "SIMPLE";
}

bool Plan::NeedsForeignKeysOff() const {
  return std::any_of(steps.begin(), steps.end(),
                     [](const Step& s) { return s.needs_foreign_keys_off; });
}

Complexity Plan::MaxComplexity() const {
  Complexity c = Complexity::kSimple;
  for (const Step& s : steps) c = std::max(c, s.complexity);
  return c;
}

bool Plan::Destructive() const {
  return std::any_of(steps.begin(), steps.end(), [](const Step& s) { return s.destructive; });
}

double Plan::EstMs() const {
  double total = 0;
  for (const Step& s : steps) total += s.est_ms;
  return std::round(total * 1000.0) / 1000.0;  // a model's figure: no float noise
}

std::vector<std::string> Plan::AllWarnings() const {
  std::vector<std::string> out = warnings;
  for (const Step& s : steps)
    if (!s.warning.empty()) out.push_back(s.warning);
  return out;
}

std::string Plan::Hash() const {
  // Each field is length-prefixed so ("ab","c") and ("a","bc") differ.
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_128bits_reset(&state);
  auto feed = [&](std::string_view s) {
    uint64_t n = s.size();
    XXH3_128bits_update(&state, &n, sizeof n);
    XXH3_128bits_update(&state, s.data(), s.size());
  };
  feed(schema);
  for (const Step& s : steps) {
    feed(OpName(s.op));
    feed(s.object);
    feed(s.sql);
  }
  XXH128_hash_t h = XXH3_128bits_digest(&state);
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, h);
  std::string hex;
  for (unsigned char b : canon.digest) hex += fmt::format("{:02x}", b);
  return hex;
}

std::string Plan::Script() const {
  std::string out;
  out += "-- sqlite-automigrate migration script. Run it with: sqlite3 -bail DATABASE < script.sql\n";
  out += fmt::format("-- {} step(s); plan_hash {}\n", steps.size(), Hash());
  if (steps.empty()) {
    out += "-- Nothing to do: the database already matches the desired schema.\n";
    return out;
  }
  // The script may run on a connection other than the one that planned it, so
  // foreign keys are switched off whenever a table is dropped or rebuilt,
  // whatever this connection's setting was. PRAGMA foreign_keys is a no-op
  // inside a transaction: it must come before BEGIN, or DROP TABLE would
  // cascade deletes into child tables.
  bool fk_off = NeedsForeignKeysOff();
  if (fk_off) out += "PRAGMA foreign_keys=OFF;\n";
  out += "BEGIN IMMEDIATE;\n";
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    out += fmt::format("-- step {}: {} {}{}\n", i + 1, OpName(s.op), s.object,
                       s.reason.empty() ? "" : " (" + s.reason + ")");
    out += s.sql;
    if (!s.sql.empty() && s.sql.back() != '\n') out += "\n";
  }
  if (NeedsForeignKeysOff()) {
    // With foreign keys off, nothing checked the rows the rebuilt or dropped
    // tables left behind. Any violation fails this INSERT, and OR ROLLBACK
    // undoes the whole migration even when the shell is not in -bail mode.
    out += "-- foreign-key check: any violation rolls the migration back\n";
    out += "CREATE TEMP TABLE IF NOT EXISTS _automigrate_fk_guard(violations INTEGER CHECK (violations = 0));\n";
    out += "INSERT OR ROLLBACK INTO _automigrate_fk_guard SELECT count(*) FROM pragma_foreign_key_check;\n";
    out += "DROP TABLE temp._automigrate_fk_guard;\n";
  }
  out += "COMMIT;\n";
  if (fk_off && foreign_keys_on) out += "PRAGMA foreign_keys=ON;\n";
  if (fk_off && !foreign_keys_on)
    out += "-- foreign_keys was OFF on the planning connection; turn it back ON here if yours uses it\n";
  return out;
}

void WritableSchemaGuard::ArmFor(const Plan& plan) {
  Arm(std::any_of(plan.steps.begin(), plan.steps.end(),
                  [](const Step& s) { return s.op == Op::kAlterTableInPlace; }));
}

void WritableSchemaGuard::Reset() noexcept {
  if (!armed_) return;
  armed_ = false;
  // Nothing to report to: the caller is already on its error path, and a
  // failure here (out of memory) leaves SQLite's own schema checks in place.
  sqlite3_exec(db_, "PRAGMA writable_schema=RESET", nullptr, nullptr, nullptr);
}

}  // namespace automigrate
