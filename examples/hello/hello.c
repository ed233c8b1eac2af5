// The example guest: a WASI command that greets, reads a granted file and
// computes something, showing args, env, preopened directories and stdout.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char** argv) {
  const char* who = argc > 1 ? argv[1] : "nobody";
  const char* greeting = getenv("GREETING");
  printf("%s says hello, %s!\n", greeting ? greeting : "someone", who);

  FILE* f = fopen("/data/greeting.txt", "r");
  if (f) {
    char line[256];
    if (fgets(line, sizeof line, f)) printf("read /data/greeting.txt: %s", line);
    fclose(f);
  } else {
    printf("no /data granted\n");
  }
  FILE* escape = fopen("/etc/passwd", "r");
  printf("/etc/passwd is %s\n", escape ? "READABLE (bad!)" : "out of reach (capabilities deny it)");
  printf("fib(27) = %llu\n", fib(27));
  return 0;
}
