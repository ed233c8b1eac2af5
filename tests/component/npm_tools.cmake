# The npm test tools (tools/npm: jco, componentize-js, preview2-shim), found
# by tools/npm/npm_tools.cmake (included by the top CMakeLists.txt before
# this file). Tests reach them through compile definitions of component_tests:
#   ARCELLA_NPM_TOOLS_DIR   tools/npm (node_modules inside)
#   ARCELLA_JCO             tools/npm/node_modules/.bin/jco
#   ARCELLA_NODE            node
#   ARCELLA_COMPONENT_TESTSUITE_DIR   ../shared/component-model/test
#   ARCELLA_COMPONENT_WAT_CACHE       build/component-wat (jco parse results)
# A test that needs the tools fails when they are missing, unless
# ARCELLA_SKIP_NPM_TESTS=1 is set in its environment (docs/TESTING.md).

# Like the core testsuite (tests/wast/spec_tests.cmake), beside the checkout;
# a worktree elsewhere passes -DARCELLA_COMPONENT_TESTSUITE_DIR=...
set(ARCELLA_COMPONENT_TESTSUITE_DIR ${CMAKE_SOURCE_DIR}/../shared/component-model/test
  CACHE PATH "Component Model reference tests (component-model/test)")
if(NOT EXISTS ${ARCELLA_COMPONENT_TESTSUITE_DIR})
  message(STATUS "component spec tests: ${ARCELLA_COMPONENT_TESTSUITE_DIR} not found, none run")
endif()
include(${CMAKE_SOURCE_DIR}/tests/fixtures/components/components.cmake OPTIONAL)

if(TARGET component_tests)
  target_compile_definitions(component_tests PRIVATE
    ARCELLA_NPM_TOOLS_DIR="${ARCELLA_NPM_TOOLS_DIR}"
    ARCELLA_JCO="${ARCELLA_JCO}"
    ARCELLA_NODE="${ARCELLA_NODE}"
    ARCELLA_COMPONENT_TESTSUITE_DIR="${ARCELLA_COMPONENT_TESTSUITE_DIR}"
    ARCELLA_COMPONENT_WAT_CACHE="${CMAKE_BINARY_DIR}/component-wat"
    ARCELLA_COMPONENT_FIXTURES="${CMAKE_BINARY_DIR}/fixtures/components")
  if(TARGET component_fixtures)
    add_dependencies(component_tests component_fixtures)
  endif()
endif()

# e2e tests of components on the platform (tests/e2e/component_platform_test.cc).
if(TARGET e2e_tests)
  target_compile_definitions(e2e_tests PRIVATE
    ARCELLA_COMPONENT_FIXTURES="${CMAKE_BINARY_DIR}/fixtures/components")
  if(TARGET component_fixtures)
    add_dependencies(e2e_tests component_fixtures)
  endif()
endif()
