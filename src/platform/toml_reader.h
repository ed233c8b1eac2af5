// Internal: a toml++ reader that turns type and range errors into Statuses
// "FILE:LINE:COL: KEY = VALUE: what is allowed" (manifests and config).
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/status.h"
#include "platform/file_read.h"
#include "platform/manifest.h"
#include "platform/toml_shape.h"

namespace arcella::platform::toml_internal {

inline size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// A short rendering of a TOML value for messages.
inline std::string Render(const toml::node& n) {
  std::ostringstream os;
  if (n.is_string()) {
    std::string s = *n.value<std::string>();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    os << '"';
    for (char c : s) {
      if (c == '"' || c == '\\') os << '\\' << c;
      else if (static_cast<unsigned char>(c) < 0x20) os << "\\x" << std::hex << int(c) << std::dec;
      else os << c;
    }
    os << '"';
  } else if (n.is_array()) {
    os << "[...]";
  } else if (n.is_table()) {
    os << "{...}";
  } else {
    n.visit([&](auto&& v) { os << v; });
  }
  return os.str();
}

inline const char* TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

class Reader {
 public:
  explicit Reader(const std::string& file) : file_(file) {}

  std::string Where(const toml::source_region& src) const {
    if (src.begin.line == 0) return file_;
    return file_ + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
  }
  // "FILE:L:C: KEY = VALUE: what"
  Status Bad(const toml::node& n, const std::string& key, const std::string& what) const {
    return Status::InvalidArgument(Where(n.source()) + ": " + key + " = " + Render(n) + ": " +
                                   what);
  }
  Status Missing(const toml::table& t, const std::string& key, const std::string& what) const {
    return Status::InvalidArgument(Where(t.source()) + ": " + key + " is required (" + what + ")");
  }

  // Refuses keys of `t` outside `allowed`; `reserved` keys are skipped.
  Status CheckKeys(const toml::table& t, const std::string& prefix,
                   std::initializer_list<std::string_view> allowed,
                   std::initializer_list<std::string_view> reserved = {}) const {
    for (auto&& [k, v] : t) {
      std::string_view name = k.str();
      bool ok = false;
      for (auto a : allowed) ok |= (a == name);
      for (auto r : reserved) ok |= (r == name);
      if (prefix.empty() && name.substr(0, 2) == "x-") ok = true;  // reserved: top-level x-*
      if (ok) continue;
      std::string list, hint;
      for (auto a : allowed) {
        list += (list.empty() ? "" : ", ") + std::string(a);
        if (hint.empty() && EditDistance(a, name) <= 2) hint = std::string(a);
      }
      std::string msg = Where(k.source()) + ": unknown key " + prefix + std::string(name);
      if (!hint.empty()) msg += " (did you mean " + prefix + hint + "?)";
      msg += "; allowed: " + list;
      return Status::InvalidArgument(msg);
    }
    return Status::Ok();
  }

  Status String(const toml::node& n, const std::string& key, std::string* out) const {
    if (!n.is_string()) return Bad(n, key, std::string("expected a string, got ") + TypeName(n));
    *out = *n.value<std::string>();
    return Status::Ok();
  }
  Status Bool(const toml::node& n, const std::string& key, std::optional<bool>* out) const {
    if (!n.is_boolean()) return Bad(n, key, "expected true or false");
    *out = *n.value<bool>();
    return Status::Ok();
  }
  Status PositiveInt(const toml::node& n, const std::string& key, int64_t max,
                     uint64_t* out) const {
    std::string want = "expected an integer >= 1";
    if (max < INT64_MAX) want = "expected an integer from 1 to " + std::to_string(max);
    if (!n.is_integer()) return Bad(n, key, want + ", got " + TypeName(n));
    int64_t v = *n.value<int64_t>();
    if (v < 1 || v > max) return Bad(n, key, want);
    *out = static_cast<uint64_t>(v);
    return Status::Ok();
  }
  Status StringArray(const toml::node& n, const std::string& key,
                     std::vector<std::string>* out) const {
    const toml::array* a = n.as_array();
    if (!a) return Bad(n, key, std::string("expected an array of strings, got ") + TypeName(n));
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      std::string ek = key + "[" + std::to_string(i) + "]";
      if (!e.is_string()) return Bad(e, ek, std::string("expected a string, got ") + TypeName(e));
      std::string s = *e.value<std::string>();
      if (s.empty()) return Bad(e, ek, "expected a non-empty string");
      out->push_back(std::move(s));
    }
    return Status::Ok();
  }
  Status ByteSize(const toml::node& n, const std::string& key, std::optional<uint64_t>* out) const {
    if (n.is_integer()) {
      int64_t v = *n.value<int64_t>();
      if (v < 1 || v > (int64_t{1} << 48))
        return Bad(n, key, "expected a byte size from 1 to 256TiB");
      *out = static_cast<uint64_t>(v);
      return Status::Ok();
    }
    if (!n.is_string()) return Bad(n, key, "expected bytes (integer) or a size like \"64MiB\"");
    auto r = ParseByteSize(*n.value<std::string>());
    if (!r.ok()) return Bad(n, key, r.status().message());
    *out = *r;
    return Status::Ok();
  }
  Status Duration(const toml::node& n, const std::string& key,
                  std::optional<std::chrono::milliseconds>* out) const {
    if (!n.is_string()) return Bad(n, key, "expected a duration like \"2s\" or \"500ms\"");
    auto r = ParseDuration(*n.value<std::string>());
    if (!r.ok()) return Bad(n, key, r.status().message());
    *out = *r;
    return Status::Ok();
  }
  Status Dirs(const toml::node& n, const std::string& key, std::vector<std::string>* out) const {
    ARCELLA_RETURN_IF_ERROR(StringArray(n, key, out));
    const toml::array& a = *n.as_array();
    for (size_t i = 0; i < out->size(); ++i)
      if (Status s = ValidateDirGrant((*out)[i]); !s.ok())
        return Bad(*a.get(i), key + "[" + std::to_string(i) + "]", s.message());
    return Status::Ok();
  }
  Status Env(const toml::node& n, const std::string& key,
             std::map<std::string, std::string>* out) const {
    const toml::table* t = n.as_table();
    if (!t)
      return Bad(n, key,
                 std::string("expected a table of strings like { K = \"V\" }, got ") + TypeName(n));
    for (auto&& [k, v] : *t) {
      std::string name(k.str()), ek = key + "." + name;
      if (name.empty() || name.find('=') != std::string::npos ||
          name.find('\0') != std::string::npos)
        return Bad(v, ek, "an environment variable name must be non-empty, without '=' or NUL");
      std::string val;
      ARCELLA_RETURN_IF_ERROR(String(v, ek, &val));
      if (val.find('\0') != std::string::npos) return Bad(v, ek, "NUL is not allowed");
      (*out)[name] = val;
    }
    return Status::Ok();
  }

  // Size, depth and key count are checked first (toml_shape.h): toml++
  // never sees text that could exhaust its stack.
  Result<toml::table> Parse(std::string_view text) const {
    ARCELLA_RETURN_IF_ERROR(CheckTomlShape(text, file_));
    try {
      return toml::parse(text, file_);
    } catch (const toml::parse_error& e) {
      return Status::InvalidArgument(Where(e.source()) +
                                     ": invalid TOML: " + std::string(e.description()));
    }
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// A TOML file: a regular file of at most kMaxTomlBytes (file_read.h).
inline Result<std::string> ReadText(const std::string& path) {
  return ReadRegularFileText(path, {kMaxTomlBytes, "TOML files"});
}

}  // namespace arcella::platform::toml_internal
