# symgrad_add_plugin(<name> SOURCES <files>... [OUTPUT_DIRECTORY <dir>] [ALLOW_UNDEFINED] [NO_INSTALL]
#                    [NO_MANIFEST])
#
# Builds a symgrad plugin: a MODULE library named symgrad-<name>.so that links the framework,
# exports only the SYMGRAD_PLUGIN entry (-fvisibility=hidden, and a version script for the
# standard library's templates, which keep default visibility) and must resolve all of its
# symbols at link time (-Wl,-z,defs), so that a missing symbol fails the build, not a load.
# Used in the source tree and, from the installed package, by plugins built out of tree:
#
#   find_package(symgrad CONFIG REQUIRED)
#   symgrad_add_plugin(my_opt SOURCES my_opt.cpp)
#
# OUTPUT_DIRECTORY: where the library goes (default: in the source tree, the framework's plugin
# folder build/lib/symgrad/plugins, searched by default; out of tree, the current binary folder:
# point SYMGRAD_PLUGIN_PATH there or load the file by path). ALLOW_UNDEFINED drops -z defs (only
# the test suite's deliberately broken plugins use it). In the source tree the plugin is also
# installed beside the framework, unless NO_INSTALL.
#
# After each build the plugin's manifest, symgrad-<name>.manifest, is written beside the library by
# `symgrad plugins manifest` (which loads the plugin, so a plugin that cannot register fails its
# build): the list of its components, from which symgrad loads only the plugins a command needs
# (docs/security.md). NO_MANIFEST leaves it out (the suite's broken fixtures): such a plugin is
# loaded only by its own name or path.
function(symgrad_add_plugin name)
  cmake_parse_arguments(P "ALLOW_UNDEFINED;NO_INSTALL;NO_MANIFEST" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "symgrad_add_plugin(${name}): no SOURCES")
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  target_link_libraries(${name} PRIVATE symgrad::symgrad)
  target_compile_features(${name} PRIVATE cxx_std_20)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "symgrad-${name}"
    SUFFIX ".so"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  set(exports "${CMAKE_CURRENT_BINARY_DIR}/symgrad-plugin-exports.map")
  if(NOT EXISTS "${exports}")
    file(WRITE "${exports}" "{\n  global: symgrad_plugin_entry;\n  local: *;\n};\n")
  endif()
  target_link_options(${name} PRIVATE "LINKER:--version-script=${exports}")
  # (not in a sanitizer build: the sanitizers' runtime comes with the program, not the plugin)
  if(NOT P_ALLOW_UNDEFINED AND NOT SYMGRAD_SANITIZE)
    target_link_options(${name} PRIVATE "LINKER:-z,defs")
  endif()
  if(P_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${P_OUTPUT_DIRECTORY}")
  elseif(DEFINED SYMGRAD_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${SYMGRAD_PLUGIN_OUTPUT_DIRECTORY}")
  endif()
  if(NOT P_NO_MANIFEST)
    if(DEFINED SYMGRAD_PLUGIN_INSTALL_DIR)  # in the source tree
      set(tool $<TARGET_FILE:symgrad-cli>)
      add_dependencies(${name} symgrad-cli)
    else()  # the installed package's
      set(tool "${SYMGRAD_EXECUTABLE}")
    endif()
    add_custom_command(TARGET ${name} POST_BUILD
                       COMMAND ${tool} plugins manifest $<TARGET_FILE:${name}> > /dev/null
                       COMMENT "Writing the manifest of plugin ${name}" VERBATIM)
  endif()
  if(DEFINED SYMGRAD_PLUGIN_INSTALL_DIR)
    # In the source tree, built with its install RUNPATH (CMAKE_BUILD_WITH_INSTALL_RPATH): in
    # <libdir>/symgrad/plugins libsymgrad is two folders up; a plugin built elsewhere in the tree
    # (a test fixture) finds build/lib from where it is. $ORIGIN-based, never empty or relative.
    if(P_OUTPUT_DIRECTORY)
      file(RELATIVE_PATH up "${P_OUTPUT_DIRECTORY}" "${CMAKE_LIBRARY_OUTPUT_DIRECTORY}")
      set_target_properties(${name} PROPERTIES INSTALL_RPATH "$ORIGIN/${up}")
    else()
      set_target_properties(${name} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
    endif()
    if(NOT P_NO_INSTALL)
      install(TARGETS ${name} LIBRARY DESTINATION "${SYMGRAD_PLUGIN_INSTALL_DIR}")
      if(NOT P_NO_MANIFEST)
        install(FILES $<TARGET_FILE_DIR:${name}>/$<TARGET_FILE_BASE_NAME:${name}>.manifest DESTINATION "${SYMGRAD_PLUGIN_INSTALL_DIR}")
      endif()
    endif()
  endif()
endfunction()
