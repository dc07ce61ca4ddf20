#include "core/plan.h"

namespace automigrate {

// Placeholder while the planner is written: always an empty plan.
Result<Plan> PlanMigration(sqlite3* /*db*/, std::string_view /*desired_sql*/,
                           const PlanOptions& options) {
  Plan plan;
  plan.schema = options.schema;
  return plan;
}

}  // namespace automigrate
