#include "component/export_names.h"

#include <gtest/gtest.h>

namespace arcella::component {
namespace {

const std::vector<std::string> kExports = {
    "wasi:cli/run@0.2.3#run",
    "example:app/greeter@0.1.0#greet",
    "example:app/counter@0.1.0#[method]counter.get",
    "example:other/greeter@1.0.0#greet",
    "top",
};

TEST(ExportNames, ExactFullAndDottedNamesResolve) {
  EXPECT_EQ(ResolveExportName("top", kExports).name, "top");
  EXPECT_EQ(ResolveExportName("example:app/greeter@0.1.0#greet", kExports).name,
            "example:app/greeter@0.1.0#greet");
  EXPECT_EQ(ResolveExportName("example:app/greeter.greet", kExports).name,
            "example:app/greeter@0.1.0#greet");
  EXPECT_EQ(ResolveExportName("example:app/greeter@0.1.0.greet", kExports).name,
            "example:app/greeter@0.1.0#greet");
  EXPECT_EQ(ResolveExportName("example:app/greeter#greet", kExports).name,
            "example:app/greeter@0.1.0#greet");
  EXPECT_EQ(ResolveExportName("counter.[method]counter.get", kExports).name,
            "example:app/counter@0.1.0#[method]counter.get");
  EXPECT_EQ(ResolveExportName("run", kExports).name, "wasi:cli/run@0.2.3#run");
}

TEST(ExportNames, AmbiguousAndUnknownNamesSayWhy) {
  ExportMatch m = ResolveExportName("greet", kExports);
  EXPECT_TRUE(m.name.empty());
  EXPECT_NE(m.error.find("ambiguous: example:app/greeter@0.1.0#greet, "
                         "example:other/greeter@1.0.0#greet"),
            std::string::npos)
      << m.error;
  m = ResolveExportName("greeter.greet", kExports);
  EXPECT_NE(m.error.find("ambiguous"), std::string::npos) << m.error;
  m = ResolveExportName("nope", kExports);
  EXPECT_NE(m.error.find("exports no function `nope` (functions: wasi:cli/run@0.2.3#run,"),
            std::string::npos)
      << m.error;
  EXPECT_FALSE(ResolveExportName("", kExports).error.empty());
  EXPECT_FALSE(ResolveExportName(".", kExports).error.empty());
}

}  // namespace
}  // namespace arcella::component
