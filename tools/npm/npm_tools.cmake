# Finds the npm tools (tools/npm: jco, componentize-js, preview2-shim),
# pinned by tools/npm/package-lock.json and installed by scripts/bootstrap.sh
# with `npm ci` into tools/npm/node_modules. Sets:
#   ARCELLA_NPM_TOOLS_FOUND   ON when tools/npm/node_modules/.bin/jco exists
#   ARCELLA_NPM_TOOLS_DIR     tools/npm (node_modules inside)
#   ARCELLA_JCO, ARCELLA_COMPONENTIZE_JS, ARCELLA_NODE
# Included by the top CMakeLists.txt before the tests and the examples: the
# component fixtures (tests/fixtures/components/components.cmake) and the
# component examples (examples/components.cmake) are built with them.
set(ARCELLA_NPM_TOOLS_DIR ${CMAKE_SOURCE_DIR}/tools/npm)
set(ARCELLA_JCO ${ARCELLA_NPM_TOOLS_DIR}/node_modules/.bin/jco)
set(ARCELLA_COMPONENTIZE_JS ${ARCELLA_NPM_TOOLS_DIR}/node_modules/.bin/componentize-js)
find_program(ARCELLA_NODE node)
if(NOT ARCELLA_NODE)
  set(ARCELLA_NODE node)
endif()
if(EXISTS ${ARCELLA_JCO})
  set(ARCELLA_NPM_TOOLS_FOUND ON)
  message(STATUS "npm tools: ${ARCELLA_NPM_TOOLS_DIR}/node_modules")
else()
  set(ARCELLA_NPM_TOOLS_FOUND OFF)
  message(STATUS "npm tools: not installed (scripts/bootstrap.sh installs them); the component "
    "fixtures and the component examples are not built and the tests that need them fail")
endif()
