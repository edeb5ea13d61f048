#include "nauto/text/jinja_template.h"

#include <catch2/catch.hpp>
#include <map>

using namespace nauto;
using namespace nauto::text;
using nlohmann::json;

namespace {

// Templates by name from a map, as a folder of template files would give them.
struct Templates {
  std::map<std::string, std::string> files;
  TemplateLoader loader() const {
    return [this](const std::string& name) -> Result<std::string> {
      auto found = files.find(name);
      if (found == files.end()) return fail(Errc::NotFound, "no template '" + name + "'");
      return found->second;
    };
  }
  Result<std::string> render(const std::string& name, const json& vars) const {
    return render_template(name, loader(), vars);
  }
};

std::string render(const std::string& text, const json& vars = json::object()) {
  Templates t{{{"t.j2", text}}};
  auto out = t.render("t.j2", vars);
  REQUIRE(out);
  return *out;
}

Error render_error(const std::string& text, const json& vars = json::object()) {
  Templates t{{{"t.j2", text}}};
  auto out = t.render("t.j2", vars);
  REQUIRE_FALSE(out);
  return out.error();
}

}  // namespace

TEST_CASE("an interface config from inventory variables", "[text][jinja]") {
  const json vars = {{"hostname", "r1"},
                     {"site", "dc1"},
                     {"ntp", {"10.0.0.1", "10.0.0.2"}},
                     {"interfaces",
                      {{{"name", "Gi0/1"}, {"description", "uplink"}, {"vlan", 10}},
                       {{"name", "Gi0/2"}, {"shutdown", true}}}}};
  const std::string tmpl = R"(hostname {{ hostname | upper }}
{% for server in ntp %}
ntp server {{ server }}
{% endfor %}
{% for intf in interfaces %}
interface {{ intf.name }}
 {% if intf.description is defined %}
 description {{ intf.description }}
 {% endif %}
 {% if intf.shutdown | default(false) %}
 shutdown
 {% else %}
 switchport access vlan {{ intf.vlan }}
 no shutdown
 {% endif %}
{% endfor %}
banner motd ^{{ site ~ "-" ~ hostname }} ({{ interfaces | length }} ports)^
)";
  CHECK(render(tmpl, vars) == R"(hostname R1
ntp server 10.0.0.1
ntp server 10.0.0.2
interface Gi0/1
 description uplink
 switchport access vlan 10
 no shutdown
interface Gi0/2
 shutdown
banner motd ^dc1-r1 (2 ports)^
)");
}

TEST_CASE("expressions, tests, filters and loop variables", "[text][jinja]") {
  CHECK(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 % 3 }} {{ 10 / 4 }} {{ -2 }}") ==
        "7 9 1 2.5 -2");
  CHECK(render("{{ a if a > 2 else 'small' }}", {{"a", 1}}) == "small");
  CHECK(render("{{ 'x' in ['x', 'y'] }} {{ 'z' not in 'xyz' }} {{ not true or false }}") ==
        "True False False");
  CHECK(render("{% for k, v in d.items() %}{{ k }}={{ v }}{% if not loop.last %},{% endif %}"
               "{% endfor %}",
               {{"d", {{"b", 2}, {"a", 1}}}}) == "a=1,b=2");
  CHECK(render("{% for x in [] %}{{ x }}{% else %}none{% endfor %}") == "none");
  CHECK(render("{% for x in xs %}{{ loop.index }}/{{ loop.length }} {% endfor %}",
               {{"xs", {"a", "b"}}}) == "1/2 2/2 ");
  CHECK(render("{{ xs | join(', ') }} {{ xs | first }} {{ xs | last }} {{ xs | sort | list }}",
               {{"xs", {"b", "a"}}}) == "b, a b a [\"a\",\"b\"]");
  CHECK(render("{{ '10' | int + 1 }} {{ ' x ' | trim }} {{ 'a-b' | replace('-', '_') }}") ==
        "11 x a_b");
  CHECK(render("{{ missing | default('none') }} {{ missing.deep | d(3) }}") == "none 3");
  CHECK(render("{{ 'ge-0/0/1'.split('/') | last }} {{ 'Gi0/1'.startswith('Gi') }}") == "1 True");
  CHECK(render("{% set mtu = 9000 %}mtu {{ mtu }}") == "mtu 9000");
  CHECK(render("{{ text | indent(2) }}", {{"text", "a\nb\n"}}) == "a\n  b\n");
  CHECK(render("{{ v.0 }} {{ v[1] }} {{ d['k'] }}", {{"v", {1, 2}}, {"d", {{"k", "x"}}}}) ==
        "1 2 x");
}

TEST_CASE("whitespace follows Ansible: block lines vanish, - strips", "[text][jinja]") {
  CHECK(render("a\n  {% if true %}\n  b\n  {% endif %}\nc\n") == "a\n  b\nc\n");
  CHECK(render("a   {%- if true -%}   b   {%- endif %}") == "ab");
  CHECK(render("x {# a comment #}y") == "x y");
  CHECK(render("{{ 'a' }}\n{{ 'b' }}\n") == "a\nb\n");
}

TEST_CASE("includes render with the same variables", "[text][jinja]") {
  Templates t{{{"r.j2", "hostname {{ name }}\n{% include 'ntp.j2' %}end\n"},
               {"ntp.j2", "{% for s in ntp %}ntp server {{ s }}\n{% endfor %}"}}};
  auto out = t.render("r.j2", {{"name", "r1"}, {"ntp", {"1.1.1.1"}}});
  REQUIRE(out);
  CHECK(*out == "hostname r1\nntp server 1.1.1.1\nend\n");
  Templates loop{{{"a.j2", "{% include 'a.j2' %}"}}};
  auto endless = loop.render("a.j2", json::object());
  REQUIRE_FALSE(endless);
  CHECK(endless.error().message.find("includes nest more than 16 deep") != std::string::npos);
  Templates missing{{{"a.j2", "x\n{% include 'nope.j2' %}"}}};
  auto absent = missing.render("a.j2", json::object());
  REQUIRE_FALSE(absent);
  CHECK(absent.error().where == "a.j2:2");
  CHECK(absent.error().message == "include 'nope.j2': no template 'nope.j2'");
}

TEST_CASE("errors name the template, the line and the variable", "[text][jinja]") {
  auto undefined =
      render_error("hostname r1\ninterface {{ intf.name }}\n", {{"intf", json::object()}});
  CHECK(undefined.where == "t.j2:2");
  CHECK(undefined.message == "'intf.name' is undefined");
  auto missing = render_error("a\nb {{ vlan }}");
  CHECK(missing.where == "t.j2:2");
  CHECK(missing.message == "'vlan' is undefined");
  CHECK(render_error("{% if x %}\nunclosed\n").message.find("'{% endif %}' is missing") !=
        std::string::npos);
  CHECK(render_error("{% endfor %}").message.find("closes no open block") != std::string::npos);
  CHECK(render_error("{% while %}").message.find("unknown tag '{% while %}'") != std::string::npos);
  CHECK(render_error("a\n\n{{ x | nosuch }}", {{"x", 1}}).where == "t.j2:3");
  CHECK(render_error("{{ x | nosuch }}", {{"x", 1}}).message.find("unknown filter 'nosuch'") !=
        std::string::npos);
  CHECK(render_error("{{ 1 + }}").message.find("an expression is missing") != std::string::npos);
  CHECK(render_error("{{ 'a' < 1 }}").message.find("cannot compare") != std::string::npos);
  CHECK(render_error("{{ x").message.find("never closed") != std::string::npos);
  CHECK(render_error("{% for x in xs %}{{ x }}{% endfor %}", {{"xs", 5}})
            .message.find("is not a list") != std::string::npos);
  CHECK_FALSE(check_template("t.j2", "{% if %}"));
  CHECK(check_template("t.j2", "{{ a }}{% for x in y %}{% endfor %}"));
}

TEST_CASE("a template cannot run away", "[text][jinja]") {
  json big = json::array();
  for (int i = 0; i < 1001; ++i)
    big.push_back(i);
  auto error =
      render_error("{% for a in xs %}{% for b in xs %}{% endfor %}{% endfor %}", {{"xs", big}});
  CHECK(error.message.find("1,000,000 loop iterations") != std::string::npos);
  std::string deep(500, '(');
  CHECK(render_error("{{ " + deep + " }}").message.find("nests too deeply") != std::string::npos);
}

TEST_CASE("regression: bytes that are not UTF-8 in a name's path are reported, not thrown",
          "[text][jinja]") {
  // Found by fuzz_jinja_template: the error message's path was dumped as JSON, which threw.
  auto error =
      render_error("{{ x['\xff\xfe'] is defined }}{{ x['\xff'] }}", {{"x", json::object()}});
  CHECK(error.message.find("is undefined") != std::string::npos);
  CHECK(render("{{ '\xff' }}") == "\xff");
}
