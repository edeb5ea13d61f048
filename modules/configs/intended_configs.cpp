#include "intended_configs.h"

#include <fstream>
#include <sstream>

#include "nauto/text/jinja_template.h"

namespace nauto::configs {

using nlohmann::json;

json IntendedConfigs::variables_of(const json& host) {
  json variables = host.is_object() ? host : json::object();
  if (auto vars = variables.find("vars"); vars != variables.end() && vars->is_object()) {
    for (const auto& [key, value] : vars->items())
      variables[key] = value;
  }
  variables["inventory_hostname"] = host.value("name", "");
  return variables;
}

Result<std::string> IntendedConfigs::load(const std::string& name) const {
  const bool leaves = name.empty() || name.front() == '/' || name == ".." ||
                      name.starts_with("../") || name.ends_with("/..") ||
                      name.find("/../") != std::string::npos;
  if (leaves) {
    return fail(Errc::InvalidArgument,
                "template '" + name + "': a name inside the templates folder, without '..'");
  }
  std::ifstream file(dir_ + "/" + name, std::ios::binary);
  if (!file) return fail(Errc::NotFound, "no template '" + name + "' in " + dir_);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

Result<RenderedConfig> IntendedConfigs::render(const json& host) const {
  const auto variables = variables_of(host);
  std::string name;
  if (auto chosen = variables.find("template"); chosen != variables.end() && chosen->is_string())
    name = chosen->get<std::string>();
  else
    name = host.value("platform", "") + ".j2";
  auto text = text::render_template(
      name, [this](const std::string& wanted) { return load(wanted); }, variables);
  if (!text) {
    auto error = std::move(text).error();
    error.message = host.value("name", "") + ": " + error.message;
    return error;
  }
  return RenderedConfig{name, std::move(*text)};
}

}  // namespace nauto::configs
