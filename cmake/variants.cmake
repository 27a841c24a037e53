# Build variants of the hazard and benchmark programs.
#
# A variant is one set of compile flags applied to the support library and to every program:
#   native      plain build; run natively, under Valgrind (Helgrind, DRD) and under lockgraph
#   tsan-gcc    -fsanitize=thread with gcc (the main build's compiler)
#   tsan-clang  -fsanitize=thread with clang (built as a separate CMake tree by ExternalProject,
#               because one CMake tree has one C compiler)
# Sanitizer variants are never mixed with the LD_PRELOAD detector: lockgraph runs the native build.
#
# Outputs land at fixed paths that the harness and the README name:
#   ${LG_OUTPUT_ROOT}/hazards/<variant>/<buggy|fixed>/<slug>
#   ${LG_OUTPUT_ROOT}/bench/<variant>/<workload>

# Slugs come from the files themselves: a pair is buggy/<slug>.c + fixed/<slug>.c.
file(GLOB _lg_buggy RELATIVE ${PROJECT_SOURCE_DIR}/buggy CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/buggy/*.c)
set(LG_HAZARDS "")
foreach(f ${_lg_buggy})
  string(REGEX REPLACE "\\.c$" "" slug ${f})
  if(EXISTS ${PROJECT_SOURCE_DIR}/fixed/${slug}.c)
    list(APPEND LG_HAZARDS ${slug})
  endif()
endforeach()
list(SORT LG_HAZARDS)

file(GLOB _lg_bench RELATIVE ${PROJECT_SOURCE_DIR}/bench CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bench/*.c)
set(LG_BENCH_WORKLOADS "")
foreach(f ${_lg_bench})
  string(REGEX REPLACE "\\.c$" "" w ${f})
  list(APPEND LG_BENCH_WORKLOADS ${w})
endforeach()
list(SORT LG_BENCH_WORKLOADS)

# lg_add_variant(<variant> <flag>...)
function(lg_add_variant variant)
  set(flags ${ARGN})
  set(support hz_support_${variant})
  add_library(${support} STATIC ${LG_SUPPORT_SOURCES})
  target_include_directories(${support} PUBLIC ${PROJECT_SOURCE_DIR}/lib)
  target_compile_options(${support} PRIVATE ${flags} -g -O1)
  target_link_options(${support} INTERFACE ${flags})
  target_link_libraries(${support} PUBLIC Threads::Threads)

  foreach(kind buggy fixed)
    foreach(slug ${LG_HAZARDS})
      set(t ${kind}_${slug}_${variant})
      add_executable(${t} ${PROJECT_SOURCE_DIR}/${kind}/${slug}.c)
      # Frame pointers and line info keep every detector's stacks readable.
      target_compile_options(${t} PRIVATE ${flags} -g -O1 -fno-omit-frame-pointer)
      if(kind STREQUAL "buggy")
        # A buggy program may ignore a result on purpose; the "compiler" detector column
        # shows that warning, the build stays quiet.
        target_compile_options(${t} PRIVATE -Wno-unused-result)
      endif()
      target_link_libraries(${t} PRIVATE ${support})
      set_target_properties(${t} PROPERTIES OUTPUT_NAME ${slug}
        RUNTIME_OUTPUT_DIRECTORY ${LG_OUTPUT_ROOT}/hazards/${variant}/${kind})
      list(APPEND _programs ${t})
    endforeach()
  endforeach()

  foreach(w ${LG_BENCH_WORKLOADS})
    set(t bench_${w}_${variant})
    add_executable(${t} ${PROJECT_SOURCE_DIR}/bench/${w}.c)
    target_compile_options(${t} PRIVATE ${flags} -g -O2 -fno-omit-frame-pointer)
    target_link_libraries(${t} PRIVATE ${support})
    set_target_properties(${t} PROPERTIES OUTPUT_NAME ${w}
      RUNTIME_OUTPUT_DIRECTORY ${LG_OUTPUT_ROOT}/bench/${variant})
    list(APPEND _programs ${t})
  endforeach()

  add_custom_target(programs_${variant} DEPENDS ${_programs})
endfunction()
