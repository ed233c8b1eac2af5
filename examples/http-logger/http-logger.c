// The seed's example module as a core WASI reactor: it stays instantiated in
// every replica and serves calls. `log_request(status)` records one request
// and prints a log line (captured per replica: `arcella-cli logs`);
// `count()` returns how many requests this replica has seen.
//
// Decision (issue 10, docs/COMPONENTS.md "The examples"): it stays a core
// module, not a component. Its seed manifest (http-logger.component.toml)
// lists imports = ["wasi:http/incoming-handler@0.2.0"], whose `handle`
// passes wasi:http resources: Arcella serves no wasi:http/incoming-handler
// yet (no HTTP ingress) and links do not carry resources yet, and the seed's
// CLI and TOML examples must keep working verbatim. The component examples,
// linked to each other, are examples/logger and examples/app.
#include <stdint.h>
#include <stdio.h>

static int64_t requests = 0;

__attribute__((export_name("log_request"))) int64_t log_request(int32_t status) {
  ++requests;
  printf("request #%lld status=%d\n", (long long)requests, status);
  fflush(stdout);
  return requests;
}

__attribute__((export_name("count"))) int64_t count(void) { return requests; }
