# The component examples, built from source into build/examples/ as part of
# the `examples` target (included by the top CMakeLists.txt after it):
#
#   logger@0.1.0.wasm  examples/logger: C reactor exporting
#                      example:logger/log@0.1.0
#   app@0.1.0.wasm     examples/app: C reactor importing
#                      example:logger/log@0.1.0 and exporting
#                      example:app/greeter@0.1.0
#
# Like the component fixtures (tests/fixtures/components/components.cmake):
# clang --target=wasm32-wasi -mexec-model=reactor (wasi-libc), then
# `jco embed --wit` and `jco new --wasi-reactor` through
# tools/npm/run-tool.mjs. The file names carry the identity: `arcella-cli
# install ./logger@0.1.0.wasm` installs logger@0.1.0 (no manifest needed; the
# world comes from the binary). scripts/start.sh installs, deploys, links and
# calls them. Built only when the npm tools (tools/npm/npm_tools.cmake) and
# clang are found; tests/e2e/examples_test.cc skips without them.
# tests/e2e/examples_test.cc runs README.md's lines.
if(TARGET e2e_tests)
  target_compile_definitions(e2e_tests PRIVATE ARCELLA_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
if(NOT ARCELLA_NPM_TOOLS_FOUND OR NOT CLANG)
  message(STATUS "component examples (logger, app): not built (needs the npm tools and clang)")
  return()
endif()
set(EX_SRC ${CMAKE_SOURCE_DIR}/examples)
set(EX_OUT ${CMAKE_BINARY_DIR}/examples)
set(EX_OBJ ${CMAKE_BINARY_DIR}/examples-obj)  # the core modules, not for users
file(MAKE_DIRECTORY ${EX_OBJ})
set(EX_TOOL ${ARCELLA_NODE} ${ARCELLA_NPM_TOOLS_DIR}/run-tool.mjs)
set(EX_TOOL_DEPS ${ARCELLA_NPM_TOOLS_DIR}/package-lock.json ${ARCELLA_NPM_TOOLS_DIR}/run-tool.mjs)
set(EX_COMPONENTS)
# example_component(NAME VERSION): examples/NAME/NAME.{c,wit} (world NAME)
# -> build/examples/NAME@VERSION.wasm.
function(example_component name version)
  set(core ${EX_OBJ}/${name}.wasm)
  set(embed ${EX_OBJ}/${name}.embed.wasm)
  set(out ${EX_OUT}/${name}@${version}.wasm)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CLANG} --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor
            -o ${core} ${EX_SRC}/${name}/${name}.c
    COMMAND ${EX_TOOL} jco embed --wit ${EX_SRC}/${name}/${name}.wit -n ${name}
            ${core} -o ${embed}
    COMMAND ${EX_TOOL} jco new ${embed} --wasi-reactor -o ${out}
    DEPENDS ${EX_SRC}/${name}/${name}.c ${EX_SRC}/${name}/${name}.wit ${EX_TOOL_DEPS}
    COMMENT "example ${name}@${version}.wasm (clang + jco embed + jco new --wasi-reactor)"
    VERBATIM)
  set(EX_COMPONENTS ${EX_COMPONENTS} ${out} PARENT_SCOPE)
endfunction()
example_component(logger 0.1.0)
example_component(app 0.1.0)
add_custom_target(example_components DEPENDS ${EX_COMPONENTS})
add_dependencies(examples example_components)
