#include "component/names.h"

#include <cctype>

namespace arcella::component {

namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// words ::= first-word ('-' word)*: lowercase only.
bool IsWords(std::string_view s) {
  if (s.empty() || !IsLower(s[0])) return false;
  bool after_dash = false;
  for (char c : s) {
    if (c == '-') {
      if (after_dash) return false;
      after_dash = true;
      continue;
    }
    if (!IsLower(c) && !IsDigit(c)) return false;
    after_dash = false;
  }
  return !after_dash;
}

bool IsNumericId(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

std::string Quote(std::string_view s) { return "`" + std::string(s) + "`"; }

// One dot-separated identifier list of a pre-release or build part.
std::string CheckIdentifiers(std::string_view s, bool prerelease) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view id = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (id.empty()) return "empty identifier segment";
    for (char c : id) {
      if (!IsLower(c) && !IsUpper(c) && !IsDigit(c) && c != '-') {
        return std::string("unexpected character '") + c + "'";
      }
    }
    if (prerelease && IsNumericId(id) && id.size() > 1 && id[0] == '0') {
      return "invalid leading zero";
    }
    if (dot == std::string_view::npos) return "";
    start = dot + 1;
  }
}

}  // namespace

bool IsKebabLabel(std::string_view s) {
  if (s.empty()) return false;
  if (!IsLower(s[0]) && !IsUpper(s[0])) return false;
  size_t i = 0;
  while (i <= s.size()) {
    size_t dash = s.find('-', i);
    std::string_view frag = s.substr(i, dash == std::string_view::npos ? s.npos : dash - i);
    if (frag.empty()) return false;
    bool lower = false, upper = false;
    for (char c : frag) {
      if (IsLower(c)) {
        lower = true;
      } else if (IsUpper(c)) {
        upper = true;
      } else if (!IsDigit(c)) {
        return false;
      }
    }
    if (lower && upper) return false;
    if (dash == std::string_view::npos) break;
    i = dash + 1;
  }
  return true;
}

std::string CheckSemver(std::string_view s) {
  if (s.empty()) return "empty string";
  size_t i = 0;
  for (int part = 0; part < 3; ++part) {
    if (i >= s.size()) return "unexpected end of input";
    if (!IsDigit(s[i])) return std::string("unexpected character '") + s[i] + "'";
    size_t begin = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i - begin > 1 && s[begin] == '0') return "invalid leading zero";
    if (i - begin > 19) return "value out of range";
    if (part < 2) {
      if (i >= s.size()) return "unexpected end of input";
      if (s[i] != '.') return std::string("unexpected character '") + s[i] + "'";
      ++i;
    }
  }
  if (i < s.size() && s[i] == '-') {
    size_t end = s.find('+', i + 1);
    std::string why = CheckIdentifiers(s.substr(i + 1, end == s.npos ? s.npos : end - i - 1), true);
    if (!why.empty()) return why;
    i = end == s.npos ? s.size() : end;
  }
  if (i < s.size() && s[i] == '+') {
    std::string why = CheckIdentifiers(s.substr(i + 1), false);
    if (!why.empty()) return why;
    i = s.size();
  }
  if (i < s.size()) return std::string("unexpected character '") + s[i] + "'";
  return "";
}

bool IsCanonVersion(std::string_view s) {
  auto nonzero_number = [](std::string_view n) {
    return !n.empty() && n[0] != '0' && IsNumericId(n);
  };
  if (nonzero_number(s)) return true;
  if (s.substr(0, 2) == "0." && nonzero_number(s.substr(2))) return true;
  if (s.substr(0, 4) == "0.0." && (nonzero_number(s.substr(4)) || s.substr(4) == "0")) {
    return true;
  }
  return false;
}

std::string ParseInterfaceName(std::string_view text, ExternName* out) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return "expected `:` in interface name";
  std::string_view ns = text.substr(0, colon);
  if (!IsWords(ns)) return Quote(ns) + " is not a valid namespace (lowercase kebab-case words)";
  std::string_view rest = text.substr(colon + 1);
  size_t slash = rest.find('/');
  size_t colon2 = rest.find(':');
  if (slash == std::string_view::npos || (colon2 != std::string_view::npos && colon2 < slash)) {
    return "expected `/` after package name";
  }
  std::string_view pkg = rest.substr(0, slash);
  if (!IsWords(pkg)) return Quote(pkg) + " is not a valid package name";
  rest = rest.substr(slash + 1);
  size_t at = rest.find('@');
  std::string_view iface = rest.substr(0, at);
  size_t slash2 = iface.find('/');
  if (slash2 != std::string_view::npos) {
    return "trailing characters found: " + Quote(rest.substr(slash2));
  }
  if (!IsKebabLabel(iface)) return Quote(iface) + " is not in kebab case";
  std::string_view version;
  if (at != std::string_view::npos) {
    version = rest.substr(at + 1);
    if (!IsCanonVersion(version)) {
      std::string why = CheckSemver(version);
      if (!why.empty()) return why;
    }
  }
  out->kind = ExternName::Kind::kInterface;
  out->ns = ns;
  out->package = pkg;
  out->interface = iface;
  out->version = version;
  return "";
}

std::string ParseExternName(std::string_view text, ExternName* out) {
  out->text = text;
  if (text.find(':') != std::string_view::npos && text.substr(0, 1) != "[") {
    return ParseInterfaceName(text, out);
  }
  auto strip = [&](std::string_view prefix) {
    if (text.substr(0, prefix.size()) != prefix) return false;
    text.remove_prefix(prefix.size());
    return true;
  };
  if (strip("[constructor]")) {
    if (!IsKebabLabel(text)) return Quote(text) + " is not in kebab case";
    out->kind = ExternName::Kind::kConstructor;
    out->resource = text;
    out->label = text;
    return "";
  }
  bool method = strip("[method]");
  bool is_static = !method && strip("[static]");
  if (method || is_static) {
    size_t dot = text.find('.');
    if (dot == std::string_view::npos) return "failed to find `.` character";
    std::string_view res = text.substr(0, dot), fn = text.substr(dot + 1);
    if (!IsKebabLabel(res)) return Quote(res) + " is not in kebab case";
    if (!IsKebabLabel(fn)) return Quote(fn) + " is not in kebab case";
    out->kind = method ? ExternName::Kind::kMethod : ExternName::Kind::kStatic;
    out->resource = res;
    out->label = fn;
    return "";
  }
  if (text.substr(0, 1) == "[") return "unknown annotation in " + Quote(text);
  if (!IsKebabLabel(text)) return Quote(text) + " is not in kebab case";
  out->kind = ExternName::Kind::kLabel;
  out->label = text;
  return "";
}

std::string StrongUniqueKey(const ExternName& n) {
  std::string key;
  switch (n.kind) {
    case ExternName::Kind::kLabel: key = n.label; break;
    case ExternName::Kind::kConstructor: key = "[constructor]" + n.resource; break;
    case ExternName::Kind::kMethod:
    case ExternName::Kind::kStatic: key = n.resource + "." + n.label; break;
    case ExternName::Kind::kInterface: key = n.text; break;
  }
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n.kind == ExternName::Kind::kMethod || n.kind == ExternName::Kind::kStatic) {
    size_t dot = n.resource.size();
    if (key.compare(0, dot, key, dot + 1, std::string::npos) == 0) key.resize(dot);
  }
  return key;
}

}  // namespace arcella::component
