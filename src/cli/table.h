// A plain-text table for people: a header row and data rows, columns left
// aligned and separated by two spaces, no trailing blanks.
#pragma once

#include <string>
#include <vector>

namespace arcella::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // Missing cells are blank; extra cells are an error caught by assert.
  void AddRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }

  // Every line is prefixed with `indent` and ends with '\n'.
  std::string Render(const std::string& indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of UTF-8 text (code points; good enough for ids and states).
size_t DisplayWidth(const std::string& s);

}  // namespace arcella::cli
