// The seed's example module as a core WASI reactor: it stays instantiated in
// every replica and serves calls. `log_request(status)` records one request
// and prints a log line (captured per replica: `arcella-cli logs`);
// `count()` returns how many requests this replica has seen.
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
