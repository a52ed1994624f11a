// The test binary's main: GoogleTest with the listener that seeds each test and prints the command
// replaying a failure (seeds.h).
#include <gtest/gtest.h>

#include "seeds.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new bitlens::test::SeedListener(argv[0]));
  return RUN_ALL_TESTS();
}
