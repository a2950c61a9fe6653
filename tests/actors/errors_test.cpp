// actors/errors.hpp: the last line of a tool's output, where ssh, kubectl and libpq say why.

#include "actors/errors.hpp"

#include <gtest/gtest.h>

namespace troupe {

TEST(last_line, is_the_last_line_that_is_not_blank_without_trailing_space) {
  EXPECT_EQ(last_line("Warning: Permanently added\r\nssh: connect to host 127.0.0.2 port 22: "
                      "Connection refused\r\n\n  \n"),
            "ssh: connect to host 127.0.0.2 port 22: Connection refused");
  EXPECT_EQ(last_line("one line, no end"), "one line, no end");
  EXPECT_EQ(last_line("  indented stays indented \t\n"), "  indented stays indented");
}

TEST(last_line, is_empty_when_every_line_is_blank) {
  EXPECT_EQ(last_line(""), "");
  EXPECT_EQ(last_line("\n \r\n\t\n"), "");
}

} // namespace troupe
