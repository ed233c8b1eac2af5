// Ctrl-C and SIGTERM as an fd arcella-cli can poll: while an Interrupts
// object lives, the first SIGINT or SIGTERM writes to a pipe (readable at
// fd()) instead of ending the process; a second one ends it as the default
// action would. Used by `install`, whose Ctrl-C cancels the compile in the
// daemon (alme::Client::SetInterruptFd).
#pragma once

namespace arcella::cli {

class Interrupts {
 public:
  Interrupts();   // installs the handlers (one Interrupts at a time)
  ~Interrupts();  // restores the previous handlers, closes the pipe
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  int fd() const;      // the pipe's read end; -1 if no pipe could be made
  int signal() const;  // the first signal received (SIGINT, SIGTERM), 0 if none
};

}  // namespace arcella::cli
