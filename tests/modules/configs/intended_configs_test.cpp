#include "intended_configs.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

using namespace nauto;
using namespace nauto::configs;
using nlohmann::json;

namespace {

struct TemplateDir : test::TempDir {
  TemplateDir() : TempDir("nauto-templates") {}
  void write(const std::string& name, const std::string& text) const {
    std::filesystem::create_directories(std::filesystem::path(path + "/" + name).parent_path());
    std::ofstream(path + "/" + name) << text;
  }
};

const json kHost = {{"name", "r1"},
                    {"host", "10.0.0.1"},
                    {"platform", "cisco_ios"},
                    {"tags", {"core"}},
                    {"vars", {{"site", "dc1"}, {"ntp", {"10.1.1.1"}}}}};

}  // namespace

TEST_CASE("a host's template sees its record and its variables at the top",
          "[configs][templates]") {
  TemplateDir dir;
  dir.write("cisco_ios.j2",
            "hostname {{ inventory_hostname }}\nsnmp-server location {{ site }} {{ vars.site }}\n"
            "{% for s in ntp %}ntp server {{ s }}\n{% endfor %}{% include 'common/banner.j2' %}");
  dir.write("common/banner.j2", "banner motd ^{{ tags | join(',') }}^\n");
  IntendedConfigs intended(dir.path);
  auto rendered = intended.render(kHost);
  REQUIRE(rendered);
  CHECK(rendered->template_name == "cisco_ios.j2");
  CHECK(rendered->text ==
        "hostname r1\nsnmp-server location dc1 dc1\nntp server 10.1.1.1\nbanner motd ^core^\n");

  // A host may name its own template.
  dir.write("special.j2", "hostname {{ name }}-special\n");
  auto special = kHost;
  special["vars"]["template"] = "special.j2";
  auto chosen = intended.render(special);
  REQUIRE(chosen);
  CHECK(chosen->template_name == "special.j2");
  CHECK(chosen->text == "hostname r1-special\n");
}

TEST_CASE("template names stay inside the folder; errors name the device", "[configs][templates]") {
  TemplateDir dir;
  IntendedConfigs intended(dir.path);
  for (const char* name : {"../etc/passwd", "/etc/passwd", "a/../../b", ".."}) {
    auto refused = intended.load(name);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::InvalidArgument);
  }
  auto missing = intended.render(kHost);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "r1: no template 'cisco_ios.j2' in " + dir.path);
  dir.write("cisco_ios.j2", "hostname {{ name }}\n{{ vlan }}\n");
  auto undefined = intended.render(kHost);
  REQUIRE_FALSE(undefined);
  CHECK(undefined.error().where == "cisco_ios.j2:2");
  CHECK(undefined.error().message == "r1: 'vlan' is undefined");
}
