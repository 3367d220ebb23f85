# Every third-party library symgrad builds on, all from Debian's packages (scripts/setup).
find_package(fmt 9 REQUIRED)
# oneDNN 2.6, the onednn backend's kernels. Debian's CMake config of oneDNN demands the OpenCL
# headers (its GPU runtime), which the CPU backend never uses: find the library directly.
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp REQUIRED)
find_library(DNNL_LIBRARY NAMES dnnl REQUIRED)
file(STRINGS ${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h _dnnl_major REGEX "define DNNL_VERSION_MAJOR")
file(STRINGS ${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h _dnnl_minor REGEX "define DNNL_VERSION_MINOR")
string(REGEX MATCH "[0-9]+" _dnnl_major "${_dnnl_major}")
string(REGEX MATCH "[0-9]+" _dnnl_minor "${_dnnl_minor}")
if(NOT _dnnl_major EQUAL 2 OR _dnnl_minor LESS 6)
  message(FATAL_ERROR "symgrad needs oneDNN 2.6 or a later 2.x, found ${_dnnl_major}.${_dnnl_minor}")
endif()
add_library(DNNL::dnnl UNKNOWN IMPORTED)
set_target_properties(DNNL::dnnl PROPERTIES IMPORTED_LOCATION ${DNNL_LIBRARY}
                                            INTERFACE_INCLUDE_DIRECTORIES ${DNNL_INCLUDE_DIR})
find_package(Boost 1.74 REQUIRED)       # Boost.DLL (header-only): the plugin loader
find_package(tomlplusplus 3 REQUIRED)   # experiment files
find_package(ZLIB REQUIRED)              # gzip-compressed IDX files (Fashion-MNIST)
find_package(OpenMP REQUIRED)            # oneDNN's threading runtime, and our threaded kernels
if(SYMGRAD_BUILD_TESTS)
  find_package(GTest 1.12 REQUIRED)
endif()
