#include "cli/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace arcella::cli {
namespace {

int g_pipe[2] = {-1, -1};
std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term;

void OnSignal(int sig) {
  int none = 0;
  if (!g_signal.compare_exchange_strong(none, sig)) return;
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGINT, &dfl, nullptr);
  sigaction(SIGTERM, &dfl, nullptr);
  char b = static_cast<char>(sig);
  ssize_t w = write(g_pipe[1], &b, 1);
  (void)w;
}

}  // namespace

Interrupts::Interrupts() {
  g_signal.store(0);
  if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_pipe[0] = g_pipe[1] = -1;
    return;  // no pipe: Ctrl-C keeps its default action
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

Interrupts::~Interrupts() {
  if (g_pipe[0] < 0) return;
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  close(g_pipe[0]);
  close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

int Interrupts::fd() const { return g_pipe[0]; }

int Interrupts::signal() const { return g_signal.load(); }

}  // namespace arcella::cli
