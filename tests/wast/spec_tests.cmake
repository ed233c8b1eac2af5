# The official WebAssembly spec testsuite: one ctest per core .wast file and
# tier, named spec.interp.<file> and spec.aot.<file>. Each runs
# `arcella wast <file> --tier <tier>`, which exits non-zero on any failed
# assertion. SIMD scripts (simd_*.wast) run with --tier auto in the aot set:
# the engine routes SIMD modules to the interpreter (wasm2c cannot translate
# them) and every other module of the script to AOT.
#
# AOT compiles are cached in a per-tier ARCELLA_HOME under the build dir, so
# only the first run pays for the C compiler. Labels: spec, spec_interp, spec_aot.
set(ARCELLA_TESTSUITE_DIR ${CMAKE_SOURCE_DIR}/../shared/wasm-testsuite)
if(NOT EXISTS ${ARCELLA_TESTSUITE_DIR})
  message(STATUS "spec tests: ${ARCELLA_TESTSUITE_DIR} not found, skipped")
  return()
endif()
file(GLOB ARCELLA_SPEC_FILES CONFIGURE_DEPENDS ${ARCELLA_TESTSUITE_DIR}/*.wast)
set(ARCELLA_SPEC_HOME ${CMAKE_BINARY_DIR}/spec-home)
foreach(tier interp aot)
  file(MAKE_DIRECTORY ${ARCELLA_SPEC_HOME}/${tier})
endforeach()
foreach(wast ${ARCELLA_SPEC_FILES})
  get_filename_component(name ${wast} NAME_WE)
  foreach(tier interp aot)
    set(run_tier ${tier})
    if(tier STREQUAL "aot" AND name MATCHES "^simd_")
      set(run_tier auto)
    endif()
    add_test(NAME spec.${tier}.${name}
      COMMAND $<TARGET_FILE:arcella> wast ${wast} --tier ${run_tier})
    set_tests_properties(spec.${tier}.${name} PROPERTIES
      LABELS "spec;spec_${tier}"
      TIMEOUT 1800
      ENVIRONMENT "ARCELLA_HOME=${ARCELLA_SPEC_HOME}/${tier}")
  endforeach()
endforeach()

# Proposals the interpreter tier runs (docs/ARCHITECTURE.md, "Supported
# features"): legacy exception handling and tail calls, interpreter only.
# Left out: exception-handling/try_catch.wast, whose "catch-imported" and
# "imported-mismatch" throw through a function imported from another
# instance; such calls go through the host, where an exception becomes a trap.
file(GLOB ARCELLA_EH_FILES CONFIGURE_DEPENDS ${ARCELLA_TESTSUITE_DIR}/proposals/exception-handling/*.wast)
list(FILTER ARCELLA_EH_FILES EXCLUDE REGEX "/try_catch\\.wast$")
file(GLOB ARCELLA_TAIL_CALL_FILES CONFIGURE_DEPENDS ${ARCELLA_TESTSUITE_DIR}/proposals/tail-call/*.wast)
foreach(wast ${ARCELLA_EH_FILES} ${ARCELLA_TAIL_CALL_FILES})
  get_filename_component(name ${wast} NAME_WE)
  get_filename_component(dir ${wast} DIRECTORY)
  get_filename_component(proposal ${dir} NAME)
  add_test(NAME spec.interp.${proposal}.${name}
    COMMAND $<TARGET_FILE:arcella> wast ${wast} --tier interp)
  set_tests_properties(spec.interp.${proposal}.${name} PROPERTIES
    LABELS "spec;spec_interp;spec_proposals"
    TIMEOUT 600
    ENVIRONMENT "ARCELLA_HOME=${ARCELLA_SPEC_HOME}/interp")
endforeach()

# The multi-memory proposal, which both tiers run: `arcella wast --multi-memory`
# lets the text front-end accept several memories (the 2.0 scripts above expect
# them to be invalid). memory-multi.wast runs with --tier auto in the aot set:
# one of its modules uses SIMD, which the engine routes to the interpreter.
file(GLOB ARCELLA_MULTI_MEMORY_FILES CONFIGURE_DEPENDS ${ARCELLA_TESTSUITE_DIR}/proposals/multi-memory/*.wast)
foreach(wast ${ARCELLA_MULTI_MEMORY_FILES})
  get_filename_component(name ${wast} NAME_WE)
  foreach(tier interp aot)
    set(run_tier ${tier})
    if(tier STREQUAL "aot" AND name STREQUAL "memory-multi")
      set(run_tier auto)
    endif()
    add_test(NAME spec.${tier}.multi-memory.${name}
      COMMAND $<TARGET_FILE:arcella> wast ${wast} --tier ${run_tier} --multi-memory)
    set_tests_properties(spec.${tier}.multi-memory.${name} PROPERTIES
      LABELS "spec;spec_${tier};spec_proposals"
      TIMEOUT 600
      ENVIRONMENT "ARCELLA_HOME=${ARCELLA_SPEC_HOME}/${tier}")
  endforeach()
endforeach()
