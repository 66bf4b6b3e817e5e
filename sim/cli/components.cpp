// The CLI's extra subcommands (audit); registries and scenario dispatch are in sim/world.
#include "sim/cli/components.hpp"

#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include <iostream>

#include "sim/chain/audit.hpp"
#include "sim/contract/audit.hpp"

namespace ledgerfl::cli {

struct AuditArgs {
  CLI::App* command = nullptr;  // the `audit` subcommand and its argument
  std::string path;
  std::string expect;  // --expect DIGEST
};

Components::Components() : audit(std::make_unique<AuditArgs>()) {}
Components::~Components() = default;

void add_extra_commands(CLI::App& app, Components& comps) {
  CLI::App*& audit = comps.audit->command;
  audit = app.add_subcommand(
      "audit",
      "verify a run file's digest chain (every flush, metrics included; prints the final "
      "digest), then a recorded ledger: every block hash, parent link, Merkle root and "
      "payload hash (exit 0 all hold, 1 first broken one named, 2 unreadable file)");
  audit->add_option("run", comps.audit->path, "run file (.h5)")->required();
  audit->add_option("--expect", comps.audit->expect,
                    "published final digest: exit 1 if the file's differs");
}

int run_extra_commands(CLI::App&, Components& comps) {
  if (comps.audit->command && *comps.audit->command)
    return chain::audit_run(comps.audit->path, std::cout, comps.audit->expect,
                            [](const metrics::H5Reader& r, std::ostream& out) {
                              return contract::audit_contract(r, out);
                            });
  return 2;
}

}  // namespace ledgerfl::cli
