#include "models/licences.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "common/json_writer.h"
#include "config/config.h"

namespace hybridgate::models {
namespace {

std::string Mau(int64_t limit) { return limit > 0 ? fmt::format("{}", limit) : "none"; }
std::string YesNo(bool b) { return b ? "yes" : "no"; }

}  // namespace

int Licences(const std::string& path, const std::string& format, std::string& out,
             std::string& err) {
  auto cfg = config::LoadConfig(path, /*check_licences=*/false);
  if (!cfg) {
    err = "models licences: " + cfg.error().message + "\n";
    return 2;
  }
  const config::LicencePolicy& policy = cfg->licence_policy;
  int violations = 0;
  JsonWriter w(out);
  if (format == "json") {
    w.BeginObject().Key("policy").BeginObject();
    w.Field("commercial", policy.commercial)
        .Field("monthly_active_users", policy.monthly_active_users)
        .Field("redistribute_weights", policy.redistribute_weights)
        .Field("require_licence", policy.require_licence)
        .Key("deny")
        .BeginArray();
    for (const std::string& d : policy.deny) w.String(d);
    w.EndArray().EndObject().Key("models").BeginArray();
  } else {
    out += fmt::format("{:<32} {:<18} {:<10} {:<14} {:<12} {:<8} {}\n", "MODEL", "LICENCE",
                       "COMMERCIAL", "REDISTRIBUTE", "MAU LIMIT", "TRAIN ON", "POLICY");
  }
  for (const config::ProviderConfig& p : cfg->providers) {
    for (const config::ModelConfig& m : p.models) {
      const std::string name = p.name + "/" + m.name;
      const config::ModelLicence& l = m.licence;
      const std::string violation = config::LicenceViolation(policy, l);
      violations += violation.empty() ? 0 : 1;
      const config::KnownLicence* known = config::FindLicence(l.id);
      if (format == "json") {
        w.BeginObject().Field("model", name).Key("licence");
        if (l.id.empty()) {
          w.Null();
        } else {
          w.String(l.id);
        }
        if (known != nullptr) {
          w.Field("licence_name", known->name)
              .Field("checked", known->checked)
              .Field("source", known->source);
        }
        if (!l.id.empty()) {
          w.Field("terms_from", l.terms_given ? "config" : "catalog")
              .Field("commercial_use", l.terms.commercial_use)
              .Field("redistribution", l.terms.redistribution)
              .Field("mau_limit", l.terms.mau_limit);
        }
        w.Field("outputs_trainable", m.outputs_trainable)
            .Field("outputs_trainable_why", m.outputs_trainable_why)
            .Key("violation");
        if (violation.empty()) {
          w.Null();
        } else {
          w.String(violation);
        }
        w.EndObject();
        continue;
      }
      const bool named = !l.id.empty();
      out += fmt::format("{:<32} {:<18} {:<10} {:<14} {:<12} {:<8} {}\n", name,
                         named ? l.id : "(none)", named ? YesNo(l.terms.commercial_use) : "?",
                         named ? YesNo(l.terms.redistribution) : "?",
                         named ? Mau(l.terms.mau_limit) : "?", YesNo(m.outputs_trainable),
                         violation.empty() ? "ok" : "VIOLATION: " + violation);
    }
  }
  if (format == "json") {
    w.EndArray().Field("violations", violations).EndObject();
    out += "\n";
  }
  return violations == 0 ? 0 : 1;
}

void AddLicencesCommand(CLI::App& models, int& exit_code) {
  struct Options {
    std::string config;
    std::string format = "table";
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = models.add_subcommand(
      "licences",
      "Each configured model's licence, its terms and the licence_policy's verdict (exit 1 on a "
      "violation)");
  cmd->add_option("--config,-c", o->config, "gateway config")->required();
  cmd->add_option("--format", o->format, "table | json")->check(CLI::IsMember({"table", "json"}));
  cmd->callback([o, &exit_code] {
    std::string out, err;
    exit_code = Licences(o->config, o->format, out, err);
    std::cout << out;
    std::cerr << err;
  });
}

}  // namespace hybridgate::models
