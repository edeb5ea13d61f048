#include "secret_refs.h"

#include <cctype>

namespace nauto::outbound {

using nlohmann::json;

namespace {

constexpr std::string_view kOpen = "${vault:";

struct Reference {
  std::size_t begin = 0, end = 0;  // [begin, end) in the text
  std::string credential, field;
};

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

// The next well-formed reference at or after `from` ("${vault:NAME:FIELD}"); end == 0: none.
Reference next_reference(std::string_view text, std::size_t from) {
  for (auto at = text.find(kOpen, from); at != std::string_view::npos;
       at = text.find(kOpen, at + 1)) {
    Reference r;
    r.begin = at;
    std::size_t i = at + kOpen.size();
    while (i < text.size() && name_char(text[i]))
      r.credential += text[i++];
    if (r.credential.empty() || i >= text.size() || text[i] != ':') continue;
    ++i;
    while (i < text.size() && name_char(text[i]))
      r.field += text[i++];
    if (r.field.empty() || i >= text.size() || text[i] != '}') continue;
    r.end = i + 1;
    return r;
  }
  return {};
}

}  // namespace

std::set<std::string> referenced_credentials(std::string_view text) {
  std::set<std::string> names;
  for (auto r = next_reference(text, 0); r.end; r = next_reference(text, r.end))
    names.insert(r.credential);
  return names;
}

void collect_credentials(const json& value, std::set<std::string>& names) {
  if (value.is_string()) {
    names.merge(referenced_credentials(value.get_ref<const std::string&>()));
  } else if (value.is_structured()) {
    for (const auto& item : value)
      collect_credentials(item, names);
  }
}

Result<std::string> substitute_secrets(std::string_view text,
                                       const std::map<std::string, json>& resolved) {
  std::string out;
  std::size_t copied = 0;
  for (auto r = next_reference(text, 0); r.end; r = next_reference(text, r.end)) {
    const auto credential = resolved.find(r.credential);
    if (credential == resolved.end())
      return fail(Errc::NotFound, "vault credential '" + r.credential + "' was not resolved");
    const auto& fields = credential->second;
    if (!fields.is_object() || !fields.contains(r.field) || !fields[r.field].is_string() ||
        fields[r.field].get_ref<const std::string&>().empty()) {
      return fail(Errc::NotFound, "vault credential '" + r.credential + "' has no " + r.field);
    }
    out.append(text.substr(copied, r.begin - copied));
    out += fields[r.field].get_ref<const std::string&>();
    copied = r.end;
  }
  out.append(text.substr(copied));
  return out;
}

std::string redact_values(std::string text, const std::set<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.size() < 4) continue;  // a short value would redact ordinary words
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
      text.replace(at, secret.size(), "<redacted>");
  }
  return text;
}

std::set<std::string> secret_values(const std::map<std::string, json>& resolved) {
  std::set<std::string> values;
  for (const auto& [name, fields] : resolved) {
    if (!fields.is_object()) continue;
    for (const auto& [field, value] : fields.items()) {
      if (value.is_string() && field != "username") values.insert(value.get<std::string>());
    }
  }
  return values;
}

}  // namespace nauto::outbound
