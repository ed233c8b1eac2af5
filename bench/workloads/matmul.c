// Dense double-precision matrix multiply C = A*B (n x n, i-k-j order), repeated.
// Usage: matmul [REPS]  (default 20; n = 256)
// Checksum: sum of C's entries after the last repetition, plus a trace.
#include <stdio.h>
#include <stdlib.h>

enum { N = 256 };

static void multiply(const double* a, const double* b, double* c) {
  for (int i = 0; i < N * N; i++) c[i] = 0;
  for (int i = 0; i < N; i++)
    for (int k = 0; k < N; k++) {
      double aik = a[i * N + k];
      const double* brow = b + k * N;
      double* crow = c + i * N;
      for (int j = 0; j < N; j++) crow[j] += aik * brow[j];
    }
}

int main(int argc, char** argv) {
  long reps = argc > 1 ? atol(argv[1]) : 20;
  double* a = malloc(sizeof(double) * N * N);
  double* b = malloc(sizeof(double) * N * N);
  double* c = malloc(sizeof(double) * N * N);
  if (!a || !b || !c) return 1;
  unsigned x = 12345;
  for (int i = 0; i < N * N; i++) {
    x = x * 1103515245u + 12345u;
    a[i] = (double)((x >> 8) % 1000) / 500.0 - 1.0;
    x = x * 1103515245u + 12345u;
    b[i] = (double)((x >> 8) % 1000) / 500.0 - 1.0;
  }
  double trace = 0;
  for (long r = 0; r < reps; r++) {
    multiply(a, b, c);
    trace += c[(r % N) * N + (r % N)];
    // Feed a little of the result back so repetitions are not redundant.
    a[r % (N * N)] = c[(r * 7) % (N * N)] * 1e-3;
  }
  double sum = 0;
  for (int i = 0; i < N * N; i++) sum += c[i];
  printf("checksum %.6f %.6f\n", sum, trace);
  free(a); free(b); free(c);
  return 0;
}
