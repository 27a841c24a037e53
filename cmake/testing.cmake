# Criterion tests, registered with CTest.
#
# lg_add_criterion_test(<name> SOURCES <file>... [LIBS <lib>...] [TIMEOUT <s>])
# builds tests/<name> and registers it; Criterion's own runner gives the per-test verdicts.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CRITERION REQUIRED IMPORTED_TARGET criterion)

function(lg_add_criterion_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE PkgConfig::CRITERION ${T_LIBS} Threads::Threads)
  target_compile_definitions(${name} PRIVATE
    LG_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LG_BUILD_DIR="${PROJECT_BINARY_DIR}")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name} --jobs 2 --short-filename)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  add_dependencies(all_tests ${name})
endfunction()
