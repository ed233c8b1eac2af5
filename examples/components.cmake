# The component examples, built from source into build/examples/ as part of
# the `examples` target (included by the top CMakeLists.txt after it):
#
#   http-logger.wasm   examples/http-logger: C reactor exporting
#                      wasi:http/incoming-handler@0.2.12 (answers and logs
#                      every request) and logger:log/log@1.0.0; beside it its
#                      seed manifests http-logger.component.toml and
#                      web.deployment.toml, copied from examples/http-logger
#   app@0.1.0.wasm     examples/app: C reactor importing
#                      logger:log/log@1.0.0 (a link to http-logger) and
#                      exporting example:app/greeter@0.1.0
#
# Like the component fixtures (tests/fixtures/components/components.cmake):
# clang --target=wasm32-wasi -mexec-model=reactor (wasi-libc), then
# `jco embed --wit` and `jco new --wasi-reactor` through
# tools/npm/run-tool.mjs. app's file name carries its identity: `arcella-cli
# install ./app@0.1.0.wasm` installs app@0.1.0 (no manifest needed; the world
# comes from the binary); http-logger's comes from its manifest beside it.
#
# http-logger.wit uses wasi:http, so `jco embed --wit` is given a directory,
# build/examples-obj/http-logger-wit/: http-logger.wit and deps/ holding the
# WASI 0.2.12 packages that ship with jco (wasi-http and what it uses:
# wasi-io, -clocks, -random, -cli, -filesystem, -sockets). They are copied
# there at build time, not kept in the repository; copied rather than
# symlinked because the tool runs on preview2-shim's filesystem, which does
# not follow symlinks ("failed to parse package").
#
# scripts/start.sh installs, deploys, links and calls them. Built only when
# the npm tools (tools/npm/npm_tools.cmake) and clang are found;
# tests/e2e/examples_test.cc skips without them.
# tests/e2e/examples_test.cc runs README.md's lines.
if(TARGET e2e_tests)
  target_compile_definitions(e2e_tests PRIVATE ARCELLA_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
if(NOT ARCELLA_NPM_TOOLS_FOUND OR NOT CLANG)
  message(STATUS "component examples (http-logger, app): not built (needs the npm tools and clang)")
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
example_component(app 0.1.0)

# http-logger: examples/http-logger/http-logger.{c,wit} (world http-logger)
# -> build/examples/http-logger.wasm, plus its seed manifests beside it.
# The WIT directory is rebuilt from scratch each time, so a jco upgrade that
# changes the package set leaves nothing stale behind.
set(HL_SRC ${EX_SRC}/http-logger)
set(HL_WASI_WIT ${ARCELLA_NPM_TOOLS_DIR}/node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12)
set(HL_WIT ${EX_OBJ}/http-logger-wit)
set(HL_OUT ${EX_OUT}/http-logger.wasm)
add_custom_command(OUTPUT ${HL_OUT}
  ${EX_OUT}/http-logger.component.toml ${EX_OUT}/web.deployment.toml
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${HL_WIT}
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${HL_WASI_WIT} ${HL_WIT}/deps
  COMMAND ${CMAKE_COMMAND} -E copy ${HL_SRC}/http-logger.wit ${HL_WIT}/
  COMMAND ${CLANG} --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor
          -o ${EX_OBJ}/http-logger.wasm ${HL_SRC}/http-logger.c
  COMMAND ${EX_TOOL} jco embed --wit ${HL_WIT} -n http-logger
          ${EX_OBJ}/http-logger.wasm -o ${EX_OBJ}/http-logger.embed.wasm
  COMMAND ${EX_TOOL} jco new ${EX_OBJ}/http-logger.embed.wasm --wasi-reactor -o ${HL_OUT}
  COMMAND ${CMAKE_COMMAND} -E copy ${HL_SRC}/http-logger.component.toml
          ${HL_SRC}/web.deployment.toml ${EX_OUT}/
  DEPENDS ${HL_SRC}/http-logger.c ${HL_SRC}/http-logger.wit
          ${HL_SRC}/http-logger.component.toml ${HL_SRC}/web.deployment.toml
          ${HL_WASI_WIT}/wasi-http/package.wit ${EX_TOOL_DEPS}
  COMMENT "example http-logger.wasm (clang + jco embed with wasi:http 0.2.12 + jco new --wasi-reactor)"
  VERBATIM)
list(APPEND EX_COMPONENTS ${HL_OUT})
add_custom_target(example_components DEPENDS ${EX_COMPONENTS})
add_dependencies(examples example_components)
