// Text reaches gnuplot only as a single-quoted string (apps/symgrad/plot/gnuplot.hpp), whatever it
// holds; and the scratch folder is private and goes with its object.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "plot/gnuplot.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad::cli {
namespace {

TEST(GnuplotString, QuotesAndDoublesSingleQuotes) {
  EXPECT_EQ(gnuplot_string("loss", "title"), "'loss'");
  EXPECT_EQ(gnuplot_string("it's", "title"), "'it''s'");
  EXPECT_EQ(gnuplot_string("x'; print system('touch p'); '", "title"), "'x''; print system(''touch p''); '''");
  // inside single quotes gnuplot expands neither macros, backquotes nor backslashes: kept as they are
  EXPECT_EQ(gnuplot_string("@m `id` \\n $(id)", "title"), "'@m `id` \\n $(id)'");
  EXPECT_EQ(gnuplot_string("", "title"), "''");
}

TEST(GnuplotString, RefusesControlCharactersNamingTheText) {
  for (const char* bad : {"a\nb", "a\rb", "tab\there", "\x7f"}) {
    try {
      gnuplot_string(bad, "plot file");
      ADD_FAILURE() << "accepted a control character";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("plot file '"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("control character"), std::string::npos) << e.what();
    }
  }
}

TEST(ScratchDir, IsPrivateFreshAndRemoved) {
  std::filesystem::path kept;
  {
    const ScratchDir a, b;
    EXPECT_NE(a.path(), b.path());
    struct stat st {};
    ASSERT_EQ(::stat(a.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ(st.st_uid, ::getuid());
    write_scratch_file(a.path() / "f.txt", "data");
    kept = a.path();
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

}  // namespace
}  // namespace symgrad::cli
