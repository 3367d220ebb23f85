# Every third-party library symgrad builds on, all from Debian's packages (scripts/setup).
find_package(fmt 9 REQUIRED)
if(SYMGRAD_BUILD_TESTS)
  find_package(GTest 1.12 REQUIRED)
endif()
